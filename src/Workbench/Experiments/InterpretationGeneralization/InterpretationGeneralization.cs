using Microsoft.Data.Analysis;
using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Data;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Sweeps;
using Workbench.Training;
using Workbench.Visualization;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.InterpretationGeneralization;

/// <summary>
/// Experiment E1 (seed 000, "On the generalization of gradient-based neural network
/// interpretations"): pairs of networks trained on disjoint subsets of the training set (split
/// factor k), their maps on the same test images compared per image.
/// </summary>
public sealed record InterpretationGeneralizationConfig
{
    public IReadOnlyList<DatasetName> Datasets { get; init; } = new[] { DatasetName.Mnist, DatasetName.FashionMnist };
    public IReadOnlyList<int> SplitFactors { get; init; } = new[] { 2, 4, 8, 16 };
    public int Pairs { get; init; } = 3;
    public int TestImages { get; init; } = 1000;
    public IReadOnlyList<double> SmoothGradSigmas { get; init; } = new[] { 0.05, 0.1, 0.2, 0.3 };
    /// <summary>Noise samples per SmoothGrad map (EXPERIMENTS.md says 50; the full preset uses 25 to stay within an hour on 2 cores).</summary>
    public int SmoothGradSamples { get; init; } = 25;
    public int IgSteps { get; init; } = 20;
    /// <summary>
    /// Optimizer steps of every network (batch 32, Adam 1e-3), whatever its training-set size: with a fixed number of
    /// epochs instead, k = 16 would get 8× fewer updates than k = 2 and data size would be confounded with optimisation.
    /// 1,876 = 2 epochs of the k = 2 half of MNIST.
    /// </summary>
    public long StepsPerNetwork { get; init; } = 1_876;
    /// <summary>Split factor at which the spectral-norm and pretrained variants are trained (the smallest training sets, where variance is largest).</summary>
    public int VariantSplitFactor { get; init; } = 8;
    public bool SpectralNormVariant { get; init; } = true;
    public bool PretrainedVariant { get; init; } = true;
    /// <summary>Training images of the network pretrained on the other dataset (0 = all).</summary>
    public int PretrainImages { get; init; }
    public int Seed { get; init; }

    /// <summary>Datasets on which the generalization gap against the leave-one-out reference map (Remark 1) is measured (0 = none).</summary>
    public int GapDatasets { get; init; } = 2;

    /// <summary>Datasets (in order) on which the spectral-norm and pretrained variants are trained.</summary>
    public int VariantDatasets { get; init; } = 2;

    /// <summary>The CPU-minutes preset (under 3 min on 2 cores): k ∈ {2, 8}, one pair, 100 test images, σ ∈ {0.05, 0.3} with 10
    /// SmoothGrad samples, 200 steps per network, the variants and the gap on the first dataset only.</summary>
    public static InterpretationGeneralizationConfig Quick { get; } = new()
    {
        SplitFactors = new[] { 2, 8 }, Pairs = 1, TestImages = 100, SmoothGradSigmas = new[] { 0.05, 0.3 }, SmoothGradSamples = 10, StepsPerNetwork = 200,
        PretrainImages = 10_000, GapDatasets = 1, VariantDatasets = 1,
    };

    /// <summary>The training options of every network of the experiment (the model-cache key with the seed and the data).</summary>
    public TrainOptions Training => new() { Steps = StepsPerNetwork, EvaluateEveryEpoch = false };
}

public sealed record InterpretationGeneralizationResult(
    DataFrame PerPair, DataFrame Summary, DataFrame Claims, GenericChart ConsistencyVsSplit, GenericChart ConsistencyVsAgreement,
    GenericChart ConsistencyVsSigma, GenericChart ExampleMaps, DataFrame GeneralizationGap, GenericChart GeneralizationGapChart, TimeSpan Duration);

/// <summary>
/// One independent unit of E1: the network pair of (<see cref="Dataset"/>, <see cref="K"/>, <see cref="Pair"/>) in one
/// <see cref="Variant"/> ("standard", "spectral-norm", "pretrained") and its maps compared, or ("gap") the generalization gap
/// of Remark 1 at split factor <see cref="K"/>. Units depend on nothing but the config and their own coordinates (their
/// seeds are functions of the config's seed and the coordinates), so they may run in any order, on any machine.
/// </summary>
public sealed record InterpretationGeneralizationUnit(DatasetName Dataset, string Variant, int K, int Pair)
{
    public const string Gap = "gap";
    public override string ToString() => $"{Workbench.Data.Datasets.CliName(Dataset)} {Variant} k={K}{(Variant == Gap ? "" : $" pair {Pair}")}";
}

/// <summary>One method's comparison of the two maps of a pair (one row of the per-pair table).</summary>
public sealed record ConsistencyRow(string Dataset, string Variant, int K, int Pair, long StepsA, long StepsB, string Method, double Spearman, double SpearmanStd, double SpearmanSigned,
    double TopK, double Ssim, double L2, double Agreement);

/// <summary>One method's interpretation loss to the leave-one-out reference map on training and on test images (Remark 1).</summary>
public sealed record GapRow(string Dataset, int K, string Method, double Train, double Test);

/// <summary>What the example-maps figure shows (four test images, Grad-CAM and gradient maps of both networks, their predictions), as arrays.</summary>
public sealed record ExampleMapsData(DatasetName Dataset, int K, StoredTensor Inputs, long[] Labels, long[] PredictedA, long[] PredictedB,
    StoredTensor GradCamA, StoredTensor GradCamB, StoredTensor GradientA, StoredTensor GradientB);

/// <summary>What one unit produced: its table rows and, for the unit the figure comes from, the example maps.</summary>
public sealed record InterpretationGeneralizationUnitResult(IReadOnlyList<ConsistencyRow> Rows, IReadOnlyList<GapRow> Gaps, ExampleMapsData? Examples);

public static class InterpretationGeneralizationExperiment
{
    /// <summary>
    /// The whole protocol in one process: every unit of <see cref="Units"/> in order (<see cref="RunUnit"/>), then
    /// <see cref="Assemble"/>. A sweep runs the same units on several machines and assembles the same way.
    /// </summary>
    public static InterpretationGeneralizationResult Run(InterpretationGeneralizationConfig config, IProgressSink? progress = null, ModelCache? cache = null)
    {
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var data = new LoadedDatasets(progress);
        var results = Units(config).Select(u => RunUnit(config, u, data, progress, cache)).ToList();
        return Assemble(config, results, clock.Elapsed);
    }

    /// <summary>The independent units of the protocol, in the order <see cref="Run"/> takes them (that order fixes the tables' row order).</summary>
    public static IReadOnlyList<InterpretationGeneralizationUnit> Units(InterpretationGeneralizationConfig config)
    {
        var units = new List<InterpretationGeneralizationUnit>();
        for (int d = 0; d < config.Datasets.Count; d++)
        {
            var dataset = config.Datasets[d];
            foreach (var k in config.SplitFactors)
                for (int pair = 0; pair < config.Pairs; pair++) units.Add(new(dataset, "standard", k, pair));
            int kv = config.VariantSplitFactor;
            if (d < config.GapDatasets) units.Add(new(dataset, InterpretationGeneralizationUnit.Gap, kv, 0));
            bool variants = d < config.VariantDatasets;
            if (config.SpectralNormVariant && variants) units.Add(new(dataset, "spectral-norm", kv, 0));
            if (config.PretrainedVariant && variants) units.Add(new(dataset, "pretrained", kv, 0));
        }
        return units;
    }

    /// <summary>Runs one unit: trains (or reads from the cache) its networks and measures them.</summary>
    public static InterpretationGeneralizationUnitResult RunUnit(InterpretationGeneralizationConfig config, InterpretationGeneralizationUnit unit,
        LoadedDatasets datasets, IProgressSink? progress = null, ModelCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(unit);
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var spec = new ModelSpec("cnn");
        var dataset = unit.Dataset;
        var data = datasets.Get(dataset);
        using var test = data.Test.Take(config.TestImages);
        string name = Workbench.Data.Datasets.CliName(dataset);
        switch (unit.Variant)
        {
            case "standard":
            {
                var (a, b) = TrainPair(cache, spec, data.Train, data.Test, unit.K, unit.Pair, config, progress, init: null, initKey: null);
                using (a.Model) using (b.Model)
                {
                    var rows = Compare(name, "standard", unit.K, unit.Pair, a, b, test, config).ToList();
                    bool showsExamples = unit.Pair == 0 && unit.K == config.SplitFactors.Max() && dataset == config.Datasets[0];
                    return new(rows, [], showsExamples ? ExampleMapsOf(a.Model, b.Model, test, unit.K, dataset) : null);
                }
            }
            case InterpretationGeneralizationUnit.Gap:
                return new([], GeneralizationGapOf(cache, spec, data.Train, test, unit.K, config, progress, name).ToList(), null);
            case "spectral-norm":
            {
                var (a, b) = TrainPair(cache, spec with { SpectralNorm = true }, data.Train, data.Test, unit.K, unit.Pair, config, progress, null, null);
                using (a.Model) using (b.Model) return new(Compare(name, "spectral-norm", unit.K, unit.Pair, a, b, test, config).ToList(), [], null);
            }
            case "pretrained":
            {
                // Pretrain one network on the other dataset; both networks of the pair start from it.
                var other = dataset == DatasetName.Mnist ? DatasetName.FashionMnist : DatasetName.Mnist;
                var otherData = datasets.Get(other);
                using var pretrainSet = config.PretrainImages > 0 ? otherData.Train.Take(config.PretrainImages) : otherData.Train.Take(otherData.Train.Count);
                var pretrained = cache.GetOrTrain(spec, pretrainSet, null, config.Training with { Seed = config.Seed + 1000 }, progress);
                var state = pretrained.Model.state_dict().ToDictionary(kv2 => kv2.Key, kv2 => kv2.Value.detach().clone());
                pretrained.Model.Dispose();
                try
                {
                    void Init(nn.Module<Tensor, Tensor> m) { using var g = torch.no_grad(); foreach (var (key, value) in m.state_dict()) value.copy_(state[key]); }
                    var (a, b) = TrainPair(cache, spec, data.Train, data.Test, unit.K, unit.Pair, config, progress, Init, $"pretrained:{pretrained.Key}");
                    using (a.Model) using (b.Model) return new(Compare(name, "pretrained", unit.K, unit.Pair, a, b, test, config).ToList(), [], null);
                }
                finally { foreach (var t in state.Values) t.Dispose(); }
            }
            default:
                throw new ArgumentException($"unit.Variant must be standard, spectral-norm, pretrained or {InterpretationGeneralizationUnit.Gap}; got '{unit.Variant}'.", nameof(unit));
        }
    }

    /// <summary>The experiment's tables, figures and claims from the results of its units, given in the order of <see cref="Units"/>.</summary>
    public static InterpretationGeneralizationResult Assemble(InterpretationGeneralizationConfig config, IReadOnlyList<InterpretationGeneralizationUnitResult> results, TimeSpan duration)
    {
        var rows = results.SelectMany(r => r.Rows).ToList();
        var gaps = results.SelectMany(r => r.Gaps).ToList();
        var examples = results.Select(r => r.Examples).FirstOrDefault(e => e is not null);
        var perPair = ToFrame(rows);
        var summary = Summarize(rows);
        var gapFrame = new DataFrame(
            new StringDataFrameColumn("dataset", gaps.Select(g => g.Dataset)), new Int32DataFrameColumn("k", gaps.Select(g => g.K)),
            new StringDataFrameColumn("method", gaps.Select(g => g.Method)), new DoubleDataFrameColumn("loss_train", gaps.Select(g => g.Train)),
            new DoubleDataFrameColumn("loss_test", gaps.Select(g => g.Test)), new DoubleDataFrameColumn("gap", gaps.Select(g => g.Test - g.Train)));
        var gapChart = Plotly.NET.Chart.withTitle("Interpretation loss to the leave-one-out reference map (Remark 1): train vs test images", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(new[]
            {
                CSharpChart.Column<double, string, string>(values: gaps.Select(g => g.Train), Keys: new Optional<IEnumerable<string>>(gaps.Select(g => $"{g.Dataset} {g.Method}"), true), Name: "training images"),
                CSharpChart.Column<double, string, string>(values: gaps.Select(g => g.Test), Keys: new Optional<IEnumerable<string>>(gaps.Select(g => $"{g.Dataset} {g.Method}"), true), Name: "test images"),
            }).WithYAxisStyle<double, double, string>(TitleText: "mean squared distance of normalized maps"));
        return new InterpretationGeneralizationResult(perPair, summary, ClaimsTable.ToDataFrame(Claims(rows, config)),
            ConsistencyVsSplit(rows), ConsistencyVsAgreement(rows), ConsistencyVsSigma(rows),
            examples is null ? CSharpChart.Point<int, int, string>(x: new[] { 0 }, y: new[] { 0 }) : ExampleMapsFigure(examples),
            gapFrame, gapChart, duration);
    }


    /// <summary>
    /// Remark 1 of the seed's revision: the interpretation loss of a network relative to a reference
    /// map that does not depend on its training set — here the mean normalized map of the networks
    /// trained on the other k − 1 disjoint parts (leave-one-out) — on the network's own training
    /// images vs on test images. A positive gap (test > train) is interpretation overfitting.
    /// </summary>
    static IEnumerable<GapRow> GeneralizationGapOf(ModelCache cache, ModelSpec spec, TensorDataset train, TensorDataset test, int k,
        InterpretationGeneralizationConfig config, IProgressSink progress, string dataset)
    {
        var parts = train.SplitDisjoint(k, config.Seed);
        var models = new List<nn.Module<Tensor, Tensor>>();
        try
        {
            var options = config.Training;
            for (int i = 0; i < k; i++) models.Add(cache.GetOrTrain(spec, parts[i], null, options with { Seed = i < 2 ? config.Seed + i : config.Seed + 10 + i } /* parts 0 and 1 are pair 0's networks: cache hits */, progress).Model);
            using var own = parts[0].Take(test.Count);
            var methods = Methods(config).Where(m => m.Name is "Gradient" or "GradCam" || m.Name == $"SmoothGrad σ={config.SmoothGradSigmas.Max():G2}").ToList();
            foreach (var (name, make) in methods)
            {
                using var scope = torch.NewDisposeScope();
                double Loss(TensorDataset images)
                {
                    var target = Target.PerExample(images.Labels);
                    var maps = models.Select(m => SanityCheckNormalization.Apply(make(m).Attribute(images.Inputs, target).Map, absolute: true)).ToList();
                    var reference = torch.stack(maps.Skip(1).ToArray()).mean(new long[] { 0 });
                    return (maps[0] - reference).pow(2).sum(1).mean().item<double>();
                }
                yield return new GapRow(dataset, k, name, Loss(own), Loss(test));
            }
        }
        finally
        {
            foreach (var m in models) m.Dispose();
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>The k disjoint parts of the training set that pair <paramref name="pair"/> draws from (one seeded permutation per pair):
    /// network A trains on part 0, network B on part 1.</summary>
    public static IReadOnlyList<TensorDataset> Parts(TensorDataset train, int k, int pair, InterpretationGeneralizationConfig config) =>
        train.SplitDisjoint(k, config.Seed + 97 * pair);

    /// <summary>
    /// One unit of the protocol: the two networks of pair <paramref name="pair"/> at split factor <paramref name="k"/>, the
    /// small CNN trained on parts 0 and 1 of <see cref="Parts"/> with different initialisation seeds, exactly as
    /// <see cref="Run"/> trains them (so the model cache returns the same networks to both).
    /// </summary>
    public static (CachedModel A, CachedModel B) TrainPair(TensorDataset train, TensorDataset test, int k, int pair,
        InterpretationGeneralizationConfig config, IProgressSink? progress = null, ModelCache? cache = null) =>
        TrainPair(cache ?? new ModelCache(), new ModelSpec("cnn"), train, test, k, pair, config, progress ?? NullProgress.Instance, null, null);

    static (CachedModel, CachedModel) TrainPair(ModelCache cache, ModelSpec spec, TensorDataset train, TensorDataset test, int k, int pair,
        InterpretationGeneralizationConfig config, IProgressSink progress, Action<nn.Module<Tensor, Tensor>>? init, string? initKey)
    {
        // Disjoint parts of one seeded permutation; different initialisation seeds for the two networks.
        var parts = Parts(train, k, pair, config);
        try
        {
            var options = config.Training;
            string context = $"{train.Name} k={k} pair {pair}{(spec.SpectralNorm ? " spectral-norm" : "")}{(initKey is null ? "" : " pretrained")}";
            var a = cache.GetOrTrain(spec, parts[0], null, options with { Seed = config.Seed + 2 * pair }, progress.Within($"{context} net A"), initialize: init, initializationKey: initKey);
            var b = cache.GetOrTrain(spec, parts[1], null, options with { Seed = config.Seed + 2 * pair + 1 }, progress.Within($"{context} net B"), initialize: init, initializationKey: initKey);
            return (a, b);
        }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    /// <summary>The methods of E1, by name: gradient, IG, SmoothGrad per sigma, sparsified SmoothGrad, DeepLIFT, Grad-CAM.</summary>
    public static IReadOnlyList<(string Name, Func<nn.Module<Tensor, Tensor>, AttributionMethod> Make)> Methods(InterpretationGeneralizationConfig c)
    {
        var list = new List<(string, Func<nn.Module<Tensor, Tensor>, AttributionMethod>)>
        {
            ("Gradient", m => new Saliency(m, absolute: false)),
            ("IntegratedGradients", m => new IntegratedGradients(m, c.IgSteps, IntegrationRule.RiemannMiddle)),
        };
        foreach (var s in c.SmoothGradSigmas)
            list.Add(($"SmoothGrad σ={s:G2}", m => new NoiseTunnel(new Saliency(m, absolute: false), samples: c.SmoothGradSamples, sigmaFraction: s, seed: c.Seed)));
        list.Add(("SparsifiedSmoothGrad", m => new NoiseTunnel(new SparseGradient(m), samples: c.SmoothGradSamples, sigmaFraction: c.SmoothGradSigmas.Max(), seed: c.Seed)));
        list.Add(("DeepLift", m => new DeepLift(m)));
        list.Add(("GradCam", m => new GradCam(m, "act2")));
        return list;
    }

    static IEnumerable<ConsistencyRow> Compare(string dataset, string variant, int k, int pair, CachedModel trainedA, CachedModel trainedB, TensorDataset test, InterpretationGeneralizationConfig config)
    {
        var (a, b) = (trainedA.Model, trainedB.Model);
        double agreement = ModelMetrics.PredictionAgreement(a, b, test.Inputs);
        var target = Target.PerExample(test.Labels); // the logit of the true class, as in the seed
        foreach (var (name, make) in Methods(config))
        {
            if (variant != "standard" && name.StartsWith("SmoothGrad σ") && !name.EndsWith(config.SmoothGradSigmas.Max().ToString("G2"))) continue;
            using var scope = torch.NewDisposeScope();
            var ma = make(a).Attribute(test.Inputs, target).Map;
            var mb = make(b).Attribute(test.Inputs, target).Map;
            var spearman = SpearmanRankCorrelation.Evaluate(ma, mb, absolute: true);
            yield return new ConsistencyRow(dataset, variant, k, pair, trainedA.Result.Steps, trainedB.Result.Steps, name, spearman.Mean, spearman.Std,
                SpearmanRankCorrelation.Evaluate(ma, mb, absolute: false).Mean,
                TopKIntersection.Evaluate(ma, mb, 0.1).Mean, Ssim.Evaluate(ma, mb).Mean, NormalizedL2Distance.Evaluate(ma, mb).Mean, agreement);
        }
    }

    static DataFrame ToFrame(List<ConsistencyRow> rows) => new(
        new StringDataFrameColumn("dataset", rows.Select(r => r.Dataset)),
        new StringDataFrameColumn("variant", rows.Select(r => r.Variant)),
        new Int32DataFrameColumn("k", rows.Select(r => r.K)),
        new Int32DataFrameColumn("pair", rows.Select(r => r.Pair)),
        new Int64DataFrameColumn("steps_a", rows.Select(r => r.StepsA)),
        new Int64DataFrameColumn("steps_b", rows.Select(r => r.StepsB)),
        new StringDataFrameColumn("method", rows.Select(r => r.Method)),
        new DoubleDataFrameColumn("spearman", rows.Select(r => r.Spearman)),
        new DoubleDataFrameColumn("spearman_signed", rows.Select(r => r.SpearmanSigned)),
        new DoubleDataFrameColumn("top10_overlap", rows.Select(r => r.TopK)),
        new DoubleDataFrameColumn("ssim", rows.Select(r => r.Ssim)),
        new DoubleDataFrameColumn("l2_unit", rows.Select(r => r.L2)),
        new DoubleDataFrameColumn("prediction_agreement", rows.Select(r => r.Agreement)));

    static DataFrame Summarize(List<ConsistencyRow> rows)
    {
        var groups = rows.GroupBy(r => (r.Dataset, r.Variant, r.K, r.Method)).OrderBy(g => g.Key.Dataset).ThenBy(g => g.Key.Variant).ThenBy(g => g.Key.K).ToList();
        return new DataFrame(
            new StringDataFrameColumn("dataset", groups.Select(g => g.Key.Dataset)),
            new StringDataFrameColumn("variant", groups.Select(g => g.Key.Variant)),
            new Int32DataFrameColumn("k", groups.Select(g => g.Key.K)),
            new StringDataFrameColumn("method", groups.Select(g => g.Key.Method)),
            new DoubleDataFrameColumn("spearman_mean", groups.Select(g => g.Average(r => r.Spearman))),
            new DoubleDataFrameColumn("spearman_std", groups.Select(g => g.Count() > 1 ? StdDev(g.Select(r => r.Spearman)) : g.First().SpearmanStd)),
            new DoubleDataFrameColumn("spearman_signed_mean", groups.Select(g => g.Average(r => r.SpearmanSigned))),
            new DoubleDataFrameColumn("l2_unit_mean", groups.Select(g => g.Average(r => r.L2))),
            new Int32DataFrameColumn("n_pairs", groups.Select(g => g.Count())),
            new DoubleDataFrameColumn("prediction_agreement", groups.Select(g => g.Average(r => r.Agreement))));
    }

    static IEnumerable<Claim> Claims(List<ConsistencyRow> rows, InterpretationGeneralizationConfig c)
    {
        var std = rows.Where(r => r.Variant == "standard").ToList();
        int kMin = c.SplitFactors.Min(), kMax = c.SplitFactors.Max();
        double Mean(IEnumerable<ConsistencyRow> rs, Func<ConsistencyRow, double>? measure = null) => rs.Select(measure ?? (r => r.Spearman)).DefaultIfEmpty(double.NaN).Average();
        // 1. Consistency rises with k^-1: larger training sets (small k) give higher consistency, for most methods.
        var methods = std.Select(r => r.Method).Distinct().ToList();
        var rises = methods.Select(m => (m, small: Mean(std.Where(r => r.Method == m && r.K == kMin)), large: Mean(std.Where(r => r.Method == m && r.K == kMax)))).ToList();
        int risen = rises.Count(x => x.small > x.large);
        var gradient = std.Where(r => r.Method == "Gradient").ToList();
        long[] steps = std.SelectMany(r => new[] { r.StepsA, r.StepsB }).Distinct().Order().ToArray();
        yield return new Claim($"consistency rises with more data per network (k={kMin} vs k={kMax}, every network {string.Join("/", steps)} steps)",
            $"{risen}/{rises.Count} methods (absolute ρ); gradient: absolute ρ {rises.First().small:F3} vs {rises.First().large:F3}, " +
            $"signed ρ {Mean(gradient.Where(r => r.K == kMin), r => r.SpearmanSigned):F3} vs {Mean(gradient.Where(r => r.K == kMax), r => r.SpearmanSigned):F3}, " +
            $"unit-L2 {Mean(gradient.Where(r => r.K == kMin), r => r.L2):F3} vs {Mean(gradient.Where(r => r.K == kMax), r => r.L2):F3}",
            "rises (Fig. 1a)", risen * 2 > rises.Count);
        // 2. At every k consistency is well below prediction agreement.
        var gaps = std.GroupBy(r => (r.Dataset, r.K)).Select(g => (g.Key, gap: g.First().Agreement - g.Where(r => r.Method == "Gradient").Select(r => r.Spearman).DefaultIfEmpty(double.NaN).Average())).ToList();
        yield return new Claim("at every k, gradient-map consistency is well below prediction agreement",
            string.Join("; ", gaps.Select(g => $"{g.Key.Dataset} k={g.Key.K}: agreement − ρ = {g.gap:F2}")), "maps disagree far more than predictions (Fig. 1b)", gaps.All(g => g.gap > 0.2));
        // 3. Theorem 2 bounds the (L2) error of normalized maps, which falls with σ: judged on the unit-L2 distance of the signed
        //    normalized maps (falls) and the signed Spearman (rises); the absolute-map Spearman is reported beside, not judged.
        List<double> BySigma(Func<ConsistencyRow, double> measure) =>
            c.SmoothGradSigmas.OrderBy(s => s).Select(s => Mean(std.Where(r => r.Method == $"SmoothGrad σ={s:G2}"), measure)).ToList();
        var (l2, signed, absolute) = (BySigma(r => r.L2), BySigma(r => r.SpearmanSigned), BySigma(r => r.Spearman));
        static string Path(List<double> v) => string.Join(" → ", v.Select(x => x.ToString("F3")));
        yield return new Claim($"the SmoothGrad maps of the two networks agree more as σ grows (σ {Path(c.SmoothGradSigmas.Order().ToList())})",
            $"unit-L2 of signed maps {Path(l2)}; signed ρ {Path(signed)} (absolute ρ {Path(absolute)}, not judged)",
            "generalization error of normalized maps falls with σ (Thm. 2)", l2.Last() < l2.First() && signed.Last() > signed.First());
        // 4. Spectral normalization raises it; 5. pretraining raises it (at the variant split factor, method-averaged).
        double Variant(string v) => Mean(rows.Where(r => r.Variant == v && r.K == c.VariantSplitFactor && (r.Method is "Gradient" or "IntegratedGradients" or "GradCam")));
        double baseline = Mean(std.Where(r => r.K == c.VariantSplitFactor && (r.Method is "Gradient" or "IntegratedGradients" or "GradCam")));
        if (c.SpectralNormVariant)
            yield return new Claim($"spectral normalization raises consistency (k={c.VariantSplitFactor})", $"{Variant("spectral-norm"):F3} vs {baseline:F3}", "raises", Variant("spectral-norm") > baseline);
        if (c.PretrainedVariant)
            yield return new Claim($"pretraining on the other dataset raises consistency (k={c.VariantSplitFactor})", $"{Variant("pretrained"):F3} vs {baseline:F3}", "raises (Fig. 2)", Variant("pretrained") > baseline);
    }

    static GenericChart ConsistencyVsSplit(List<ConsistencyRow> rows)
    {
        var charts = rows.Where(r => r.Variant == "standard").GroupBy(r => (r.Dataset, r.Method)).Select(g =>
        {
            var byK = g.GroupBy(r => r.K).OrderBy(x => x.Key).ToList();
            var line = CSharpChart.Line<int, double, string>(x: byK.Select(x => x.Key), y: byK.Select(x => x.Average(r => r.Spearman)),
                Name: $"{g.Key.Dataset} {g.Key.Method}", ShowMarkers: true);
            // Error bars: the std over pairs, or over test images when there is one pair.
            var errors = byK.Select(x => x.Count() > 1 ? StdDev(x.Select(r => r.Spearman)) : x.First().SpearmanStd).ToArray();
            var error = Plotly.NET.TraceObjects.Error.init<double, double>(true, StyleParam.ErrorType.Data, null,
                Microsoft.FSharp.Core.FSharpOption<IEnumerable<double>>.Some(errors), null, null, null, null, null, null, null, null, null, null, null);
            return Plotly.NET.Chart.withYError(error).Invoke(line);
        });
        return Plotly.NET.Chart.withTitle("Consistency (normalized Spearman) vs split factor k", Microsoft.FSharp.Core.FSharpOption<Font>.None)
            .Invoke(CSharpChart.Combine(charts).WithXAxisStyle<int, int, string>(TitleText: "split factor k (log)", AxisType: StyleParam.AxisType.Log)
                .WithYAxisStyle<double, double, string>(TitleText: "Spearman ρ between the two networks' maps"));
    }

    static double StdDev(IEnumerable<double> xs) => new MetricResult("spearman", xs.ToArray()).Std;

    static GenericChart ConsistencyVsAgreement(List<ConsistencyRow> rows)
    {
        var charts = rows.Where(r => r.Variant == "standard" && r.Method == "Gradient").GroupBy(r => r.Dataset).Select(g =>
            CSharpChart.Point<double, double, string>(x: g.Select(r => r.Agreement), y: g.Select(r => r.Spearman), Name: $"{g.Key} (gradient; k = {string.Join(", ", g.Select(r => r.K))})"));
        return Plotly.NET.Chart.withTitle("Interpretation consistency vs prediction agreement (seed Fig. 1b)", Microsoft.FSharp.Core.FSharpOption<Font>.None)
            .Invoke(CSharpChart.Combine(charts).WithXAxisStyle<double, double, string>(TitleText: "prediction agreement").WithYAxisStyle<double, double, string>(TitleText: "Spearman ρ"));
    }

    static GenericChart ConsistencyVsSigma(List<ConsistencyRow> rows)
    {
        var charts = rows.Where(r => r.Variant == "standard" && r.Method.StartsWith("SmoothGrad σ")).GroupBy(r => (r.Dataset, r.K)).Select(g =>
        {
            var bySigma = g.GroupBy(r => double.Parse(r.Method["SmoothGrad σ=".Length..], System.Globalization.CultureInfo.InvariantCulture)).OrderBy(x => x.Key).ToList();
            return CSharpChart.Line<double, double, string>(x: bySigma.Select(x => x.Key), y: bySigma.Select(x => x.Average(r => r.Spearman)), Name: $"{g.Key.Dataset} k={g.Key.K}", ShowMarkers: true);
        });
        return Plotly.NET.Chart.withTitle("SmoothGrad consistency vs noise σ (fraction of the input range)", Microsoft.FSharp.Core.FSharpOption<Font>.None)
            .Invoke(CSharpChart.Combine(charts).WithXAxisStyle<double, double, string>(TitleText: "σ").WithYAxisStyle<double, double, string>(TitleText: "Spearman ρ"));
    }

    static ExampleMapsData ExampleMapsOf(nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b, TensorDataset test, int k, DatasetName dataset)
    {
        using var scope = torch.NewDisposeScope();
        var x = test.Inputs[..4];
        var labels = test.Labels[..4];
        var t = Target.PerExample(labels);
        Tensor predA, predB;
        using (torch.no_grad()) (predA, predB) = (a.call(x).argmax(1), b.call(x).argmax(1));
        return new ExampleMapsData(dataset, k, StoredTensor.Of(x), labels.data<long>().ToArray(), predA.data<long>().ToArray(), predB.data<long>().ToArray(),
            StoredTensor.Of(new GradCam(a, "act2").Attribute(x, t).Map), StoredTensor.Of(new GradCam(b, "act2").Attribute(x, t).Map),
            StoredTensor.Of(new Saliency(a).Attribute(x, t).Map), StoredTensor.Of(new Saliency(b).Attribute(x, t).Map));
    }

    static GenericChart ExampleMapsFigure(ExampleMapsData e)
    {
        using var scope = torch.NewDisposeScope();
        var names = Workbench.Data.Datasets.ClassNames(e.Dataset);
        var rows = AttributionFigures.ClassLabels(torch.tensor(e.Labels), classNames: names).Select((l, i) =>
            $"{l}<br>A: {names[(int)e.PredictedA[i]]}, B: {names[(int)e.PredictedB[i]]}").ToList();
        return AttributionFigures.Grid(e.Inputs.ToTensor(), new[]
        {
            ($"Grad-CAM net A (k={e.K})", e.GradCamA.ToTensor()), ($"Grad-CAM net B (k={e.K})", e.GradCamB.ToTensor()),
            ($"gradient net A", e.GradientA.ToTensor()), ($"gradient net B", e.GradientB.ToTensor()),
        }, rowLabels: rows, title: $"{Workbench.Data.Datasets.CliName(e.Dataset)}: maps of the two networks of a pair (k = {e.K}); rows: true class, predictions");
    }
}
