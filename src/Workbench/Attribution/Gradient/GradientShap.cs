using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// GradientSHAP (Lundberg &amp; Lee, 2017; Captum): the expected gradient × (x − x') over baselines x'
/// drawn from the given set, points x' + α(x + ε − x') with α ~ U(0, 1) and ε ~ N(0, stdev²).
/// An estimate of SHAP values (expected gradients, Erion et al., 2021). With
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
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["samples"] = Samples, ["stdev"] = Stdev, ["seed"] = Seed, ["multiply_by_inputs"] = MultiplyByInputs };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        long b = c.BatchSize, rows = Samples * b;
        var set = BaselineSet(c);
        using var g = new torch.Generator((ulong)Seed);
        var pick = torch.randint(0, set.shape[0], new[] { rows }, generator: g, dtype: ScalarType.Int64).to(c.Inputs.device);
        var alpha = torch.rand(new[] { rows }, c.Inputs.dtype, generator: g).to(c.Inputs.device);
        var noise = torch.randn(new[] { rows }.Concat(c.ExampleShape).ToArray(), c.Inputs.dtype, generator: g).to(c.Inputs.device) * Stdev;
        var bcast = new[] { -1L }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray();
        var sum = torch.zeros_like(c.Inputs);
        ForEachChunk(rows, (start, n) =>
        {
            var example = torch.arange(start, start + n, dtype: ScalarType.Int64, device: c.Inputs.device) % b;
            var baseline = set.index_select(0, pick.narrow(0, start, n));
            var x = c.Inputs.index_select(0, example) + noise.narrow(0, start, n);
            var a = alpha.narrow(0, start, n).reshape(bcast);
            var grad = TargetGradient(baseline + a * (x - baseline), c.Target, start);
            sum.index_add_(0, example, MultiplyByInputs ? grad * (x - baseline) : grad, 1);
        });
        return new(sum / Samples);
    }
}
