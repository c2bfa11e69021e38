using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>What a probe predicts from features: a class (q(y|h), softmax) or binary pixels (q(x|h), independent Bernoulli per pixel).</summary>
public enum ProbeLikelihood { Categorical, Bernoulli }

/// <summary>A probe's architecture and training: an MLP with <see cref="Hidden"/> ReLU layers (none = linear), Adam.</summary>
public sealed record ProbeOptions
{
    public IReadOnlyList<int> Hidden { get; init; } = Array.Empty<int>();
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; }
    public int Seed { get; init; }
}

/// <summary>A probe's score on held-out data: mean log-likelihood per example in nats (≤ 0), and accuracy (categorical only).</summary>
public sealed record ProbeEvaluation(double LogLikelihood, double? Accuracy, long Count);

/// <summary>
/// A probe reading features h [N, ...]: the features are flattened and standardised with the training set's mean
/// and std, then an MLP gives logits. Used as the classifier of the feature-refinement table (Liang et al., 2019)
/// and as the decoders q(y|h) and q(x|h) of the mutual-information bounds (Darlow &amp; Storkey, 2020).
/// </summary>
public sealed class Probe : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> mlp;
    readonly Tensor _mean, _std;

    public ProbeLikelihood Likelihood { get; }
    public FitOutcome Outcome { get; private set; } = new(Array.Empty<double>(), null);

    Probe(long inputs, long outputs, ProbeLikelihood likelihood, IReadOnlyList<int> hidden, Tensor mean, Tensor std) : base("probe")
    {
        Likelihood = likelihood;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long width = inputs;
        for (int i = 0; i < hidden.Count; i++)
        {
            layers.Add(($"fc{i + 1}", nn.Linear(width, hidden[i])));
            layers.Add(($"act{i + 1}", nn.ReLU()));
            width = hidden[i];
        }
        layers.Add(("out", nn.Linear(width, outputs)));
        mlp = nn.Sequential(layers);
        _mean = mean.DetachFromDisposeScope();
        _std = std.DetachFromDisposeScope();
        RegisterComponents();
    }

    public override Tensor forward(Tensor h) => mlp.call((h.reshape(h.shape[0], -1) - _mean) / _std);

    /// <summary>
    /// Trains a probe from <paramref name="features"/> [N, ...] to <paramref name="targets"/>: class indices [N] (int64)
    /// for <see cref="ProbeLikelihood.Categorical"/>, or {0, 1} pixels [N, ...] for <see cref="ProbeLikelihood.Bernoulli"/>.
    /// A diverged fit is reported in <see cref="Outcome"/>.
    /// </summary>
    public static Probe Fit(Tensor features, Tensor targets, ProbeLikelihood likelihood, ProbeOptions? options = null, IProgressSink? progress = null)
    {
        var o = options ?? new ProbeOptions();
        Check(features, targets, likelihood);
        if (o.Hidden.Any(w => w < 1)) throw new ArgumentOutOfRangeException(nameof(options), $"Hidden widths must be >= 1; got [{string.Join(", ", o.Hidden)}].");
        long n = features.shape[0];
        var flat = features.reshape(n, -1);
        Probe probe;
        using (var scope = torch.NewDisposeScope())
        {
            var mean = flat.mean(new long[] { 0 });
            // A floor of a tenth of the mean std: a feature constant on the training set (a border pixel) must not turn a
            // rare non-zero test value into a huge input.
            var spread = flat.std(0, unbiased: false);
            var std = spread + 0.1 * spread.mean() + 1e-6;
            long outputs = likelihood == ProbeLikelihood.Categorical ? Math.Max(targets.max().item<long>() + 1, 2) : targets.reshape(n, -1).shape[1];
            TorchRuntime.Seed(o.Seed);
            probe = new Probe(flat.shape[1], outputs, likelihood, o.Hidden, mean, std);
            probe.StartAtMarginal(targets, outputs);
        }
        using var optimizer = optim.Adam(probe.parameters(), o.LearningRate, weight_decay: o.WeightDecay);
        probe.train();
        probe.Outcome = MinibatchLoop.Run(n, o.Epochs, o.BatchSize, o.Seed, optimizer, _ => o.LearningRate,
            idx => probe.NegativeLogLikelihood(flat.index_select(0, idx), targets.index_select(0, idx)).mean(), progress, $"{likelihood.ToString().ToLowerInvariant()} probe");
        probe.eval();
        return probe;
    }

    /// <summary>
    /// Sets the output bias to the targets' marginal (log class frequencies; logits of the pixel frequencies, clamped to
    /// [1e-3, 1 − 1e-3]) and the output weights to zero: the untrained probe is the best probe that ignores h, so a bound
    /// built on it starts at 0 instead of at a random decoder's large negative log-likelihood.
    /// </summary>
    void StartAtMarginal(Tensor targets, long outputs)
    {
        var output = (TorchSharp.Modules.Linear)mlp.children().Last();
        using var noGrad = torch.no_grad();
        var frequency = Likelihood == ProbeLikelihood.Categorical
            ? targets.bincount(null, outputs).to_type(ScalarType.Float32) / targets.shape[0]
            : targets.reshape(targets.shape[0], -1).to_type(ScalarType.Float32).mean(new long[] { 0 });
        var p = frequency.clamp(1e-3, 1 - 1e-3);
        output.bias!.copy_(Likelihood == ProbeLikelihood.Categorical ? p.log() : p.log() - (1 - p).log());
        output.weight!.zero_();
    }

    /// <summary>Mean log-likelihood (nats per example) and accuracy of the probe on held-out features and targets.</summary>
    public ProbeEvaluation Evaluate(Tensor features, Tensor targets, int batchSize = 500)
    {
        Check(features, targets, Likelihood);
        using var noGrad = torch.no_grad();
        double nll = 0;
        long correct = 0, n = features.shape[0];
        for (long first = 0; first < n; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long m = Math.Min(batchSize, n - first);
            var h = features.narrow(0, first, m);
            var y = targets.narrow(0, first, m);
            nll += NegativeLogLikelihood(h, y).sum().item<double>();
            if (Likelihood == ProbeLikelihood.Categorical) correct += call(h).argmax(1).eq(y).sum().item<long>();
        }
        return new ProbeEvaluation(-nll / n, Likelihood == ProbeLikelihood.Categorical ? (double)correct / n : null, n);
    }

    /// <summary>−log q(target | h) per example (float64).</summary>
    Tensor NegativeLogLikelihood(Tensor h, Tensor target)
    {
        var logits = call(h);
        return (Likelihood == ProbeLikelihood.Categorical
            ? nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.None)
            : nn.functional.binary_cross_entropy_with_logits(logits, target.reshape(target.shape[0], -1).to_type(logits.dtype), reduction: nn.Reduction.None).sum(new long[] { 1 }))
            .to_type(ScalarType.Float64);
    }

    static void Check(Tensor features, Tensor targets, ProbeLikelihood likelihood)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (features.dim() < 2 || features.shape[0] < 1)
            throw new ArgumentException($"features must be a non-empty batch [N, ...]; got [{string.Join(", ", features.shape)}].", nameof(features));
        if (targets.shape[0] != features.shape[0])
            throw new ArgumentException($"targets must have one row per feature row ({features.shape[0]}); got [{string.Join(", ", targets.shape)}].", nameof(targets));
        if (likelihood == ProbeLikelihood.Categorical && (targets.dim() != 1 || targets.dtype != ScalarType.Int64))
            throw new ArgumentException($"categorical targets must be class indices [N] int64; got [{string.Join(", ", targets.shape)}] {targets.dtype}.", nameof(targets));
        if (likelihood == ProbeLikelihood.Bernoulli && (targets.min().item<float>() < 0 || targets.max().item<float>() > 1 || !targets.eq(targets.round()).all().item<bool>()))
            throw new ArgumentException("Bernoulli targets must be binary pixels in {0, 1} (binarise [0, 1] images first).", nameof(targets));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _mean.Dispose(); _std.Dispose(); }
        base.Dispose(disposing);
    }
}
