using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// GradientSHAP (Lundberg &amp; Lee, 2017; Captum): the expected gradient × (x − x') over baselines x'
/// drawn from the given set, points x' + α(x + ε − x') with α ~ U(0, 1) and ε ~ N(0, stdev²).
/// An estimate of SHAP values (expected gradients, Erion et al., 2021). The samples are drawn and
/// explained in groups that fit the memory budget (memory does not grow with the samples). With
/// <see cref="MultiplyByInputs"/> false the map is the expected gradient alone (Captum's
/// multiply_by_inputs=False).
/// </summary>
public sealed class GradientShap(AttributionModel model, int samples = 50, double stdev = 0.0, int seed = 0, AttributionSettings? settings = null,
    bool multiplyByInputs = true) : AttributionMethod(model, settings)
{
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public int Samples { get; } = samples >= 1 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 1.");
    public double Stdev { get; } = stdev >= 0 ? stdev : throw new ArgumentOutOfRangeException(nameof(stdev), stdev, "stdev must be >= 0.");
    public int Seed { get; } = seed;
    public override string Name => "GradientShap";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["samples"] = Samples, ["stdev"] = Stdev, ["seed"] = Seed, ["multiply_by_inputs"] = MultiplyByInputs };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var sum = torch.zeros_like(c.Inputs);
        ForEachSampleGroup(this, c, BaselineSet(c), Samples, Stdev, Seed, (first, x, baseline, alpha) =>
        {
            var grad = TargetGradient(baseline + alpha * (x - baseline), c.Target, first);
            sum.index_add_(0, RowIndices(c, first, x.shape[0]).Example, MultiplyByInputs ? grad * (x - baseline) : grad, 1);
        });
        return new(sum / Samples);
    }

    /// <summary>
    /// GradientSHAP's draws, in groups of samples that fit one pass: per sample and example a baseline
    /// of the set, α ~ U(0, 1) and noise ε ~ N(0, stdev²), drawn sample by sample (so the draws do not
    /// depend on the grouping) and made one group at a time (memory bounded at any sample count).
    /// <paramref name="body"/> gets the group's first row and its rows, sample-major (row r is example
    /// r mod B): noisy inputs x + ε, baselines, and α shaped to broadcast.
    /// </summary>
    internal static void ForEachSampleGroup(AttributionMethod method, AttributionContext c, Tensor set, int samples, double stdev, int seed,
        Action<long, Tensor, Tensor, Tensor> body)
    {
        long b = c.BatchSize;
        long perGroup = Math.Clamp(method.RowsPerPass() / b, 1, samples);
        var bcast = new[] { -1L }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray();
        using var g = new torch.Generator((ulong)seed);
        for (long first = 0; first < samples; first += perGroup)
        {
            using var scope = torch.NewDisposeScope();
            long k = Math.Min(perGroup, samples - first);
            var picks = new List<Tensor>();
            var alphas = new List<Tensor>();
            var noises = new List<Tensor>();
            for (long s = 0; s < k; s++)
            {
                picks.Add(torch.randint(0, set.shape[0], new[] { b }, generator: g, dtype: ScalarType.Int64));
                alphas.Add(torch.rand(new[] { b }, c.Inputs.dtype, generator: g));
                noises.Add(torch.randn(c.Inputs.shape, c.Inputs.dtype, generator: g));
            }
            var baseline = set.index_select(0, torch.cat(picks.ToArray()).to(c.Inputs.device));
            var x = c.Inputs.repeat(new[] { k }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray())
                    + torch.cat(noises.ToArray()).to(c.Inputs.device) * stdev;
            body(first * b, x, baseline, torch.cat(alphas.ToArray()).to(c.Inputs.device).reshape(bcast));
        }
    }
}
