using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>Features of the same inputs in two networks: (source x, which g reads; target, which g reconstructs), in the caller's dispose scope.</summary>
public delegate (Tensor Source, Tensor Target) FeaturePair(Tensor inputs);

/// <summary>
/// The authors' training of g (nexuslrf/knowledge_consistency): Adam with weight decay 1e-4, batch 64, the learning
/// rate decayed log-linearly from 1e-4 to 1e-6 over the epochs, loss MSE(Σ_k x̂⁽ᵏ⁾, target) + α Σ_k p_k² with α = 0.1.
/// Their runs last many epochs on large datasets; a short run needs a larger start (the presets of E9 say which).
/// </summary>
public sealed record KnowledgeConsistencyOptions
{
    /// <summary>K: the highest nonlinear order (branches 0..K; the paper's tables use K = 2).</summary>
    public int Orders { get; init; } = 2;
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-4;
    public double FinalLearningRate { get; init; } = 1e-6;
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>α of the gate penalty α Σ p_k².</summary>
    public double GatePenalty { get; init; } = 0.1;
    /// <summary>Feed x into the higher branches too, as the authors' code does (see <see cref="ConsistencyNet"/>).</summary>
    public bool InputSkip { get; init; }
    public int Seed { get; init; }

    public KnowledgeConsistencyOptions Validate()
    {
        static void Check(bool ok, string name, string expected, object actual)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, actual, $"{name} must be {expected}; got {actual}.");
        }
        Check(Orders >= 0, nameof(Orders), ">= 0", Orders);
        Check(Epochs >= 1, nameof(Epochs), ">= 1", Epochs);
        Check(BatchSize >= 1, nameof(BatchSize), ">= 1", BatchSize);
        Check(LearningRate > 0, nameof(LearningRate), "> 0", LearningRate);
        Check(FinalLearningRate > 0, nameof(FinalLearningRate), "> 0", FinalLearningRate);
        Check(WeightDecay >= 0, nameof(WeightDecay), ">= 0", WeightDecay);
        Check(GatePenalty >= 0, nameof(GatePenalty), ">= 0", GatePenalty);
        return this;
    }
}

/// <summary>A trained reconstruction net and how its fit ended.</summary>
public sealed record ConsistencyFit(ConsistencyNet Net, FitOutcome Outcome) : IDisposable
{
    public void Dispose() => Net.Dispose();
}

/// <summary>
/// One layer's decomposition (the seed's Table 2 row and Table 1 entry). Var of a component = the mean over channels of
/// its mean squared deviation from the channel's mean over examples and positions (the authors' Variance.py).
/// Null numbers and a <see cref="Status"/> other than "ok" when g diverged: never a NaN.
/// </summary>
public sealed record ConsistencyMeasurement(string Layer, IReadOnlyList<double>? OrderVariances, double? ResidualVariance, double? TargetVariance,
    double? Instability, double? FinalLoss, string Status)
{
    public bool Ok => Status == "ok";
}

/// <summary>
/// Knowledge consistency between two networks (Liang et al., 2019, <i>Knowledge Consistency between Neural Networks
/// and Beyond</i>): g reconstructs one network's features at a layer from the other's; the reconstruction splits into
/// consistent components of order 0..K (x̂⁽ᵏ⁾, the output of branch k) and the inconsistent residual x^Δ = target − Σ_k x̂⁽ᵏ⁾.
/// </summary>
public static class KnowledgeConsistency
{
    /// <summary>Pairs the features of two hooked layers on the same inputs.</summary>
    public static FeaturePair Between(LayerFeatures source, LayerFeatures target) => x => (source.Of(x), target.Of(x));

    /// <summary>Trains g on the feature pairs of <paramref name="inputs"/> [N, ...] (streamed batch by batch: memory is one batch of features).</summary>
    public static ConsistencyFit Fit(FeaturePair pairs, Tensor inputs, KnowledgeConsistencyOptions? options = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var o = (options ?? new KnowledgeConsistencyOptions()).Validate();
        CheckInputs(inputs);
        long[] shape;
        double sourceScale, targetScale;
        Tensor sourceMean, targetMean;
        using (var probe = torch.NewDisposeScope())
        {
            // One scalar per side, from up to 256 inputs: the overall std of the features (the authors' VGG features have
            // Var ≈ 1; the branch inputs are normalised to unit scale, so g starts on the target's scale whatever the layer).
            var (s, t) = pairs(inputs.narrow(0, 0, Math.Min(256, inputs.shape[0])));
            shape = CheckShapes(s, t);
            sourceScale = ScaleOf(s);
            targetScale = ScaleOf(t);
            sourceMean = ChannelMean(s).MoveToOuterDisposeScope();
            targetMean = ChannelMean(t).MoveToOuterDisposeScope();
        }
        TorchRuntime.Seed(o.Seed);
        var net = new ConsistencyNet(shape, o.Orders, o.InputSkip, sourceScale, targetScale, sourceMean: sourceMean, targetMean: targetMean);
        sourceMean.Dispose();
        targetMean.Dispose();
        using var optimizer = optim.Adam(net.parameters(), o.LearningRate, weight_decay: o.WeightDecay);
        var outcome = MinibatchLoop.Run(inputs.shape[0], o.Epochs, o.BatchSize, o.Seed, optimizer,
            MinibatchLoop.LogLinear(o.LearningRate, o.FinalLearningRate, o.Epochs),
            idx =>
            {
                var (s, t) = pairs(inputs.index_select(0, idx));
                var reconstruction = net.call(s).sum(new long[] { 0 });
                // MSE in units of the target's scale, so α weighs the gates the same whatever the layer's magnitude.
                return nn.functional.mse_loss(reconstruction / targetScale, (t - net.TargetMean) / targetScale) + o.GatePenalty * net.Gates.pow(2).sum();
            }, progress, "knowledge consistency g");
        net.eval();
        return new ConsistencyFit(net, outcome);
    }

    /// <summary>
    /// Var of each order, of the residual and of the target on <paramref name="inputs"/>, and the instability
    /// Var(x^Δ) / (Σ_k Var(x̂⁽ᵏ⁾) + Var(x^Δ)) (<see cref="InstabilityOf"/>).
    /// </summary>
    public static ConsistencyMeasurement Measure(ConsistencyFit fit, FeaturePair pairs, Tensor inputs, string layer, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(pairs);
        CheckInputs(inputs);
        if (fit.Outcome.Diverged) return new ConsistencyMeasurement(layer, null, null, null, null, null, fit.Outcome.Failure!);
        int k = fit.Net.Orders;
        var moments = Enumerable.Range(0, k + 3).Select(_ => new ChannelMoments()).ToArray(); // orders, residual, target
        using var noGrad = torch.no_grad();
        for (long first = 0; first < inputs.shape[0]; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long n = Math.Min(batchSize, inputs.shape[0] - first);
            var (s, t) = pairs(inputs.narrow(0, first, n));
            CheckShapes(s, t);
            var components = fit.Net.call(s);
            for (int i = 0; i <= k; i++) moments[i].Add(components[i]);
            moments[k + 1].Add(t - fit.Net.TargetMean - components.sum(new long[] { 0 }));
            moments[k + 2].Add(t);
        }
        var variances = moments.Select(m => m.Variance()).ToArray();
        if (variances.Any(v => !double.IsFinite(v)))
            return new ConsistencyMeasurement(layer, null, null, null, null, fit.Outcome.FinalLoss, "diverged: non-finite components on the measured inputs");
        var orders = variances.Take(k + 1).ToArray();
        return new ConsistencyMeasurement(layer, orders, variances[k + 1], variances[k + 2], InstabilityOf(orders, variances[k + 1]), fit.Outcome.FinalLoss, "ok");
    }

    /// <summary>
    /// The seed's Table 1 from its Table 2: instability = Var(x^Δ) / (Σ_k Var(x̂⁽ᵏ⁾) + Var(x^Δ)), the inconsistent share.
    /// (AlexNet conv4: 11.14 / (105.80 + 10.51 + 1.92 + 11.14) = 0.086, the 0.086 of Table 1.)
    /// </summary>
    public static double InstabilityOf(IReadOnlyList<double> orderVariances, double residualVariance)
    {
        ArgumentNullException.ThrowIfNull(orderVariances);
        double total = orderVariances.Sum() + residualVariance;
        if (orderVariances.Any(v => v < 0) || residualVariance < 0)
            throw new ArgumentOutOfRangeException(nameof(orderVariances), "variances must be >= 0.");
        return total == 0 ? 0 : residualVariance / total;
    }

    /// <summary>The components x̂⁽⁰⁾..x̂⁽ᴷ⁾ of g for source features [N, ...], batch by batch: [K + 1, N, ...].</summary>
    public static Tensor Components(ConsistencyFit fit, Tensor sourceFeatures, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(fit);
        CheckInputs(sourceFeatures, nameof(sourceFeatures));
        if (fit.Outcome.Diverged) throw new InvalidOperationException($"g did not converge, it has no components: {fit.Outcome.Failure}");
        using var noGrad = torch.no_grad();
        var parts = new List<Tensor>();
        for (long first = 0; first < sourceFeatures.shape[0]; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            parts.Add(fit.Net.call(sourceFeatures.narrow(0, first, Math.Min(batchSize, sourceFeatures.shape[0] - first))).MoveToOuterDisposeScope());
        }
        var all = torch.cat(parts.ToArray(), 1);
        foreach (var p in parts) p.Dispose();
        return all;
    }

    /// <summary>The overall std of features (1 when they are constant or not finite: nothing to rescale, and a non-finite fit is reported later).</summary>
    static double ScaleOf(Tensor features)
    {
        double std = features.to_type(ScalarType.Float64).std().item<double>();
        return double.IsFinite(std) && std > 1e-12 ? std : 1;
    }

    /// <summary>The per-channel mean over examples (and positions): [C] for [N, C, H, W] or [D] for [N, D].</summary>
    static Tensor ChannelMean(Tensor features) =>
        features.dim() == 4 ? features.mean(new long[] { 0, 2, 3 }) : features.mean(new long[] { 0 });

    static void CheckInputs(Tensor inputs, string name = "inputs")
    {
        ArgumentNullException.ThrowIfNull(inputs, name);
        if (inputs.dim() < 2 || inputs.shape[0] < 1)
            throw new ArgumentException($"{name} must be a non-empty batch [N, ...] with N >= 1; got [{string.Join(", ", inputs.shape)}].", name);
    }

    static long[] CheckShapes(Tensor source, Tensor target)
    {
        var s = source.shape.Skip(1).ToArray();
        var t = target.shape.Skip(1).ToArray();
        if (!s.SequenceEqual(t) || source.shape[0] != target.shape[0])
            throw new ArgumentException(
                $"the source and target features must have the same shape (g maps C channels to C at the same resolution, as in the authors' code); " +
                $"got source [{string.Join(", ", source.shape)}] and target [{string.Join(", ", target.shape)}]. Pick layers of equal shape in the two networks.", "pairs");
        if (s.Length is not (1 or 3))
            throw new ArgumentException($"features must be [N, C, H, W] or [N, D]; got [{string.Join(", ", source.shape)}].", "pairs");
        return s;
    }

    /// <summary>Per-channel sums of x and x² (float64) over examples and positions, for a one-pass variance.</summary>
    sealed class ChannelMoments
    {
        double[]? _sum, _squares;
        double _count;

        public void Add(Tensor x)
        {
            var dims = x.dim() == 4 ? new long[] { 0, 2, 3 } : new long[] { 0 };
            var d = x.to_type(ScalarType.Float64);
            var s = d.sum(dims).data<double>().ToArray();
            var q = d.pow(2).sum(dims).data<double>().ToArray();
            _sum ??= new double[s.Length];
            _squares ??= new double[s.Length];
            for (int c = 0; c < s.Length; c++) { _sum[c] += s[c]; _squares[c] += q[c]; }
            _count += x.numel() / s.Length;
        }

        public double Variance() => _sum is null ? double.NaN
            : Enumerable.Range(0, _sum.Length).Average(c => Math.Max(0, _squares![c] / _count - Math.Pow(_sum[c] / _count, 2)));
    }
}
