using Microsoft.Data.Analysis;
using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Data;
using Workbench.Experiments.InterpretationGeneralization;
using Workbench.Models;
using Workbench.Representations;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.Representations;

/// <summary>How the two networks of a pair differ: (a) only their initialisation, or (b) also their training data.</summary>
/// <param name="Name">Table label.</param>
/// <param name="SplitFactor">k of E1's disjoint split: both networks see 1/k of the training set.</param>
/// <param name="DisjointData">True: A trains on part 0 and B on part 1 (E1's pair); false: both on part 0, different seeds.</param>
public sealed record PairCondition(string Name, int SplitFactor, bool DisjointData);

/// <summary>
/// Experiment E9, part 1 (Liang et al., 2019, <i>Knowledge Consistency between Neural Networks and Beyond</i>): pairs of
/// networks of one architecture, g fitted per layer from A's features to B's, Var of each order and of the residual
/// (Table 2), the instability (Table 1) and the feature-refinement table. The networks are E1's (disjoint halves of the
/// training set, equal optimizer steps; <see cref="InterpretationGeneralizationExperiment.Parts"/>), so the model cache
/// returns E1's small CNNs when notebook 01 has run.
/// </summary>
public sealed record KnowledgeConsistencyConfig
{
    public IReadOnlyList<DatasetName> Datasets { get; init; } = new[] { DatasetName.Mnist, DatasetName.FashionMnist };
    public IReadOnlyList<string> Architectures { get; init; } = new[] { "cnn", "resnet" };
    /// <summary>(a) different initialisations (same half), (b) disjoint halves, (b') disjoint eighths: less data per network.</summary>
    public IReadOnlyList<PairCondition> Conditions { get; init; } = new[]
    {
        new PairCondition("initialisation", 2, false), new PairCondition("data k=2", 2, true), new PairCondition("data k=8", 8, true),
    };
    /// <summary>E1's protocol for the networks (steps, batch, optimizer, seed): the same cache keys as E1.</summary>
    public InterpretationGeneralizationConfig Networks { get; init; } = new();
    /// <summary>Training images g and the refinement classifier are fitted on (the first of the training set).</summary>
    public int FitImages { get; init; } = 2_000;
    /// <summary>Test images the variances and the refinement accuracy are measured on.</summary>
    public int TestImages { get; init; } = 2_000;
    /// <summary>
    /// The authors' schedule shape (Adam, wd 1e-4, batch 64, log-linear decay by 100×) over a few epochs instead of their
    /// long runs, so from 1e-2 instead of 1e-4 (on MNIST pool1, 4 epochs at 1e-2 leave a residual of 6% of Var(B); at 1e-3, 33%).
    /// </summary>
    public KnowledgeConsistencyOptions Consistency { get; init; } = new() { Epochs = 8, LearningRate = 1e-2, FinalLearningRate = 1e-4 };
    public ProbeOptions Refinement { get; init; } = new() { Epochs = 10 };
    /// <summary>Conditions (by name) whose layers also get the refinement table.</summary>
    public IReadOnlyList<string> RefinementConditions { get; init; } = new[] { "initialisation", "data k=8" };
    public int Seed { get; init; }

    /// <summary>About 1.5 minutes of the quick budget: MNIST, the small CNN, E1's quick networks (200 steps), 1,000 images for 4 epochs of g.</summary>
    public static KnowledgeConsistencyConfig Quick { get; } = new()
    {
        Datasets = new[] { DatasetName.Mnist }, Architectures = new[] { "cnn" }, Networks = InterpretationGeneralizationConfig.Quick,
        FitImages = 1_000, TestImages = 500, Consistency = new() { Epochs = 4, LearningRate = 1e-2, FinalLearningRate = 1e-4 },
        Refinement = new() { Epochs = 5 }, RefinementConditions = new[] { "initialisation" },
    };

    public static KnowledgeConsistencyConfig Full { get; } = new();

    /// <summary>The layers compared, shallow to deep: the small CNN's pooled conv maps and its hidden fc layer; the ResNet's stages.</summary>
    public static IReadOnlyList<string> LayersOf(string architecture) => architecture switch
    {
        "cnn" => new[] { "pool1", "pool2", "act3" },
        "resnet" => new[] { "stage1", "stage2", "stage3" },
        _ => throw new ArgumentException($"architecture must be cnn or resnet; got '{architecture}'.", nameof(architecture)),
    };
}

/// <summary>One layer of one pair: the decomposition and (for the refinement conditions) the refinement rows.</summary>
public sealed record ConsistencyRow(string Dataset, string Architecture, string Condition, string Layer, int Depth, ConsistencyMeasurement Measurement,
    double AccuracyA, double AccuracyB, IReadOnlyList<RefinementRow> Refinement);

public sealed record KnowledgeConsistencyResult(IReadOnlyList<ConsistencyRow> Rows, DataFrame Table2, DataFrame Table1, DataFrame Refinement,
    DataFrame Claims, GenericChart InstabilityChart, TimeSpan Duration);

public static class KnowledgeConsistencyExperiment
{
    /// <summary>The seed's Table 2 (ImageNet-scale networks from different initialisations): layer → Var(x⁽⁰⁾), Var(x⁽¹⁾), Var(x⁽²⁾), Var(x^Δ).</summary>
    public static readonly IReadOnlyDictionary<string, double[]> SeedTable2 = new Dictionary<string, double[]>
    {
        ["conv4 @ AlexNet"] = new[] { 105.80, 10.51, 1.92, 11.14 }, ["conv5 @ AlexNet"] = new[] { 424.67, 73.73, 43.69, 71.37 },
        ["conv4-3 @ VGG-16"] = new[] { 1.06, 0.07, 0.02, 0.16 }, ["conv5-3 @ VGG-16"] = new[] { 0.88, 0.03, 0.004, 0.22 },
        ["last conv @ ResNet-34"] = new[] { 0.66, 0.10, 0.03, 2.75 },
    };

    /// <summary>The seed's Table 1: layer → instability for (a) different initialisations, (b) different training data.</summary>
    public static readonly IReadOnlyDictionary<string, (double Initialisation, double Data)> SeedTable1 = new Dictionary<string, (double, double)>
    {
        ["conv4 @ AlexNet"] = (0.086, 0.089), ["conv5 @ AlexNet"] = (0.116, 0.155), ["conv4-3 @ VGG-16"] = (0.124, 0.121),
        ["conv5-3 @ VGG-16"] = (0.196, 0.198), ["last conv @ ResNet-34"] = (0.776, 0.275),
    };

    /// <summary>The seed's tables as DataFrames, to show beside ours.</summary>
    public static DataFrame SeedTables() => new(
        new StringDataFrameColumn("layer", SeedTable2.Keys),
        new DoubleDataFrameColumn("Var(x⁽⁰⁾)", SeedTable2.Values.Select(v => v[0])), new DoubleDataFrameColumn("Var(x⁽¹⁾)", SeedTable2.Values.Select(v => v[1])),
        new DoubleDataFrameColumn("Var(x⁽²⁾)", SeedTable2.Values.Select(v => v[2])), new DoubleDataFrameColumn("Var(x^Δ)", SeedTable2.Values.Select(v => v[3])),
        new DoubleDataFrameColumn("instability (a) initialisation", SeedTable2.Keys.Select(k => SeedTable1[k].Initialisation)),
        new DoubleDataFrameColumn("instability (b) data", SeedTable2.Keys.Select(k => SeedTable1[k].Data)));

    /// <summary>
    /// One pair of networks under <paramref name="condition"/>: E1's protocol (its seeded disjoint parts, steps and seeds),
    /// so for the small CNN and "data k=…" the cache returns E1's pair 0. A = part 0 with seed s; B = part 1 with seed s + 1,
    /// or, for different initialisations only, part 0 with seed s + 1.
    /// </summary>
    public static (CachedModel A, CachedModel B) Pair(KnowledgeConsistencyConfig config, TensorDataset train, string architecture, PairCondition condition,
        ModelCache? cache = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(condition);
        cache ??= new ModelCache();
        progress ??= NullProgress.Instance;
        var spec = ModelSpec.Parse(architecture);
        var e1 = config.Networks;
        var parts = InterpretationGeneralizationExperiment.Parts(train, condition.SplitFactor, 0, e1);
        try
        {
            string context = $"{train.Name} {architecture} {condition.Name}";
            var a = cache.GetOrTrain(spec, parts[0], null, e1.Training with { Seed = e1.Seed }, progress.Within($"{context} net A"));
            var b = cache.GetOrTrain(spec, condition.DisjointData ? parts[1] : parts[0], null, e1.Training with { Seed = e1.Seed + 1 }, progress.Within($"{context} net B"));
            return (a, b);
        }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    /// <summary>g for one layer, fitted on the first <see cref="KnowledgeConsistencyConfig.FitImages"/> images, features streamed batch by batch.</summary>
    public static ConsistencyFit FitLayer(KnowledgeConsistencyConfig config, nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b, string layer, Tensor fitImages,
        IProgressSink? progress = null)
    {
        using var fa = new LayerFeatures(a, layer);
        using var fb = new LayerFeatures(b, layer);
        return KnowledgeConsistency.Fit(KnowledgeConsistency.Between(fa, fb), fitImages, config.Consistency with { Seed = config.Seed }, progress);
    }

    /// <summary>Table 2's row for one layer: Var of each order and of the residual on the test images.</summary>
    public static ConsistencyMeasurement MeasureLayer(ConsistencyFit fit, nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b, string layer, Tensor testImages)
    {
        using var fa = new LayerFeatures(a, layer);
        using var fb = new LayerFeatures(b, layer);
        return KnowledgeConsistency.Measure(fit, KnowledgeConsistency.Between(fa, fb), testImages, layer);
    }

    /// <summary>The refinement rows for one layer: probes on A's and B's raw features and on the consistent components.</summary>
    public static IReadOnlyList<RefinementRow> RefineLayer(KnowledgeConsistencyConfig config, ConsistencyFit fit, nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b,
        string layer, TensorDataset fitSet, TensorDataset testSet, IProgressSink? progress = null)
    {
        using var aTrain = LayerFeatures.Collect(a, layer, fitSet.Inputs);
        using var bTrain = LayerFeatures.Collect(b, layer, fitSet.Inputs);
        using var aTest = LayerFeatures.Collect(a, layer, testSet.Inputs);
        using var bTest = LayerFeatures.Collect(b, layer, testSet.Inputs);
        return FeatureRefinement.Run(fit, aTrain, bTrain, fitSet.Labels, aTest, bTest, testSet.Labels, config.Refinement with { Seed = config.Seed }, progress: progress);
    }

    /// <summary>
    /// One channel of a conv layer for a few images: the input, B's centred feature map, each consistent component x̂⁽ᵏ⁾ and
    /// the residual x^Δ, on one grey scale per figure (mid-grey = 0; the input's ink colour = the largest positive value), so magnitudes compare.
    /// </summary>
    public static GenericChart ComponentMaps(ConsistencyFit fit, nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b, string layer, Tensor images, int channel)
    {
        ArgumentNullException.ThrowIfNull(fit);
        if (fit.Net.FeatureShape.Count != 3)
            throw new ArgumentException($"layer '{layer}' has vector features [{string.Join(", ", fit.Net.FeatureShape)}]; component maps need a conv layer [C, H, W].", nameof(layer));
        if (channel < 0 || channel >= fit.Net.FeatureShape[0])
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"channel must be in [0, {fit.Net.FeatureShape[0] - 1}].");
        using var scope = torch.NewDisposeScope();
        using var fa = new LayerFeatures(a, layer);
        using var fb = new LayerFeatures(b, layer);
        using var noGrad = torch.no_grad();
        var components = fit.Net.call(fa.Of(images));
        var target = fb.Of(images) - fit.Net.TargetMean;
        var maps = new List<(string, Tensor)> { ("B (centred)", target) };
        for (int k = 0; k <= fit.Net.Orders; k++) maps.Add(($"x^({k})", components[k]));
        maps.Add(("x^Δ", target - components.sum(new long[] { 0 })));
        var selected = maps.Select(m => (m.Item1, m.Item2.narrow(1, channel, 1))).ToList();
        double scale = Math.Max(1e-12, selected.Max(m => m.Item2.abs().max().item<float>()));
        var columns = new List<(string, Tensor)> { ("input", images) };
        columns.AddRange(selected.Select(m => (m.Item1, (0.5 + 0.5 * m.Item2 / scale).clamp(0, 1))));
        return Workbench.Visualization.AttributionFigures.Images(columns, title: $"{layer}, channel {channel}: B's map and its components (mid-grey = 0)");
    }

    public static KnowledgeConsistencyResult Run(KnowledgeConsistencyConfig config, IProgressSink? progress = null, ModelCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rows = new List<ConsistencyRow>();
        foreach (var dataset in config.Datasets)
        {
            using var data = Workbench.Data.Datasets.Load(dataset, progress: progress);
            using var fitSet = data.Train.Take(config.FitImages);
            using var testSet = data.Test.Take(config.TestImages);
            foreach (var architecture in config.Architectures)
                foreach (var condition in config.Conditions)
                {
                    var (pa, pb) = Pair(config, data.Train, architecture, condition, cache, progress);
                    using var a = pa.Model;
                    using var b = pb.Model;
                    double accA = Trainer.Evaluate(a, testSet).Accuracy, accB = Trainer.Evaluate(b, testSet).Accuracy;
                    var layers = KnowledgeConsistencyConfig.LayersOf(architecture);
                    for (int depth = 0; depth < layers.Count; depth++)
                    {
                        var context = progress.Within($"{Workbench.Data.Datasets.CliName(dataset)} {architecture} {condition.Name} {layers[depth]}");
                        using var fit = FitLayer(config, a, b, layers[depth], fitSet.Inputs, context);
                        var measurement = MeasureLayer(fit, a, b, layers[depth], testSet.Inputs);
                        var refinement = config.RefinementConditions.Contains(condition.Name)
                            ? RefineLayer(config, fit, a, b, layers[depth], fitSet, testSet, context) : Array.Empty<RefinementRow>();
                        rows.Add(new ConsistencyRow(Workbench.Data.Datasets.CliName(dataset), architecture, condition.Name, layers[depth], depth, measurement, accA, accB, refinement));
                    }
                }
        }
        return new KnowledgeConsistencyResult(rows, Table2(rows), Table1(rows, config), RefinementTable(rows), ClaimsTable.ToDataFrame(Claims(rows, config)),
            InstabilityChart(rows), clock.Elapsed);
    }

    /// <summary>The seed's Table 2 layout: one row per (dataset, architecture, condition, layer); null numbers where g diverged (see status).</summary>
    public static DataFrame Table2(IReadOnlyList<ConsistencyRow> rows)
    {
        int orders = rows.Select(r => r.Measurement.OrderVariances?.Count ?? 0).DefaultIfEmpty(0).Max();
        var columns = new List<DataFrameColumn>
        {
            new StringDataFrameColumn("dataset", rows.Select(r => r.Dataset)), new StringDataFrameColumn("model", rows.Select(r => r.Architecture)),
            new StringDataFrameColumn("condition", rows.Select(r => r.Condition)), new StringDataFrameColumn("layer", rows.Select(r => r.Layer)),
        };
        for (int k = 0; k < orders; k++)
        {
            int order = k;
            columns.Add(new DoubleDataFrameColumn($"Var(x^({order}))", rows.Select(r => r.Measurement.OrderVariances is { } v && order < v.Count ? v[order] : (double?)null)));
        }
        columns.Add(new DoubleDataFrameColumn("Var(x^Δ)", rows.Select(r => r.Measurement.ResidualVariance)));
        columns.Add(new DoubleDataFrameColumn("Var(B)", rows.Select(r => r.Measurement.TargetVariance)));
        columns.Add(new DoubleDataFrameColumn("instability", rows.Select(r => r.Measurement.Instability)));
        columns.Add(new StringDataFrameColumn("status", rows.Select(r => r.Measurement.Status)));
        return new DataFrame(columns);
    }

    /// <summary>The seed's Table 1 layout: instability per layer (rows) and condition (columns).</summary>
    public static DataFrame Table1(IReadOnlyList<ConsistencyRow> rows, KnowledgeConsistencyConfig config)
    {
        var keys = rows.Select(r => (r.Dataset, r.Architecture, r.Layer, r.Depth)).Distinct().ToList();
        var columns = new List<DataFrameColumn>
        {
            new StringDataFrameColumn("dataset", keys.Select(k => k.Dataset)), new StringDataFrameColumn("model", keys.Select(k => k.Architecture)),
            new StringDataFrameColumn("layer", keys.Select(k => k.Layer)),
        };
        foreach (var c in config.Conditions)
            columns.Add(new DoubleDataFrameColumn($"instability: {c.Name}", keys.Select(k =>
                rows.FirstOrDefault(r => r.Dataset == k.Dataset && r.Architecture == k.Architecture && r.Layer == k.Layer && r.Condition == c.Name)?.Measurement.Instability)));
        return new DataFrame(columns);
    }

    /// <summary>The refinement table: one row per (dataset, model, condition, layer, features), with the networks' own accuracies.</summary>
    public static DataFrame RefinementTable(IReadOnlyList<ConsistencyRow> rows)
    {
        var flat = rows.SelectMany(r => r.Refinement.Select(f => (Row: r, Features: f))).ToList();
        return new DataFrame(
            new StringDataFrameColumn("dataset", flat.Select(f => f.Row.Dataset)), new StringDataFrameColumn("model", flat.Select(f => f.Row.Architecture)),
            new StringDataFrameColumn("condition", flat.Select(f => f.Row.Condition)), new StringDataFrameColumn("layer", flat.Select(f => f.Row.Layer)),
            new StringDataFrameColumn("features", flat.Select(f => f.Features.Features)),
            new DoubleDataFrameColumn("probe accuracy", flat.Select(f => f.Features.Accuracy)),
            new DoubleDataFrameColumn("network A accuracy", flat.Select(f => (double?)f.Row.AccuracyA)),
            new DoubleDataFrameColumn("network B accuracy", flat.Select(f => (double?)f.Row.AccuracyB)),
            new StringDataFrameColumn("status", flat.Select(f => f.Features.Status)));
    }

    /// <summary>Instability against depth, one line per (dataset, model, condition): the figure of the inconsistent share.</summary>
    public static GenericChart InstabilityChart(IReadOnlyList<ConsistencyRow> rows) =>
        Plotly.NET.Chart.withTitle("Instability Var(x^Δ) / (Σ Var(x^(k)) + Var(x^Δ)) against depth", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(rows.GroupBy(r => (r.Dataset, r.Architecture, r.Condition)).Select(g =>
            {
                var ok = g.Where(r => r.Measurement.Ok).OrderBy(r => r.Depth).ToList();
                return CSharpChart.Line<string, double, string>(x: ok.Select(r => r.Layer), y: ok.Select(r => r.Measurement.Instability!.Value),
                    Name: $"{g.Key.Dataset} {g.Key.Architecture} {g.Key.Condition}", ShowMarkers: true);
            })).WithXAxisStyle<string, string, string>(TitleText: "layer (shallow → deep)").WithYAxisStyle<double, double, string>(TitleText: "instability"));

    /// <summary>
    /// The claims, each computed from the rows. "Low-order": Var(x⁽⁰⁾) is the largest consistent component and holds over half
    /// of the total variance. "Deeper": the deepest layer's instability exceeds the shallowest's. "Less data": mean
    /// instability over layers is larger for the pairs on 1/8 than on 1/2 of the data. Refinement: the consistent
    /// components' probe is within 0.5 percentage point of (or above) the probe on A's raw features.
    /// </summary>
    public static IEnumerable<Claim> Claims(IReadOnlyList<ConsistencyRow> rows, KnowledgeConsistencyConfig config)
    {
        var ok = rows.Where(r => r.Measurement.Ok).ToList();
        int failed = rows.Count - ok.Count;
        string failedNote = failed == 0 ? "" : $"; {failed} layer(s) not measured (g diverged)";

        var lowOrder = ok.Select(r =>
        {
            var v = r.Measurement.OrderVariances!;
            double total = v.Sum() + r.Measurement.ResidualVariance!.Value;
            return (Row: r, Share0: v[0] / total, Largest: v.Skip(1).All(x => v[0] >= x));
        }).ToList();
        yield return new Claim("most variance lies in the low-order consistent component: Var(x⁽⁰⁾) is the largest consistent component and > 50% of the total, in every layer",
            lowOrder.Count == 0 ? "no layer measured" :
            $"order-0 share {lowOrder.Min(l => l.Share0):P0} to {lowOrder.Max(l => l.Share0):P0}; largest in {lowOrder.Count(l => l.Largest)}/{lowOrder.Count}{failedNote}",
            "order-0 share 81-88% for AlexNet and VGG-16, 19% for ResNet-34's last conv (Table 2)",
            lowOrder.Count > 0 && failed == 0 && lowOrder.All(l => l.Largest && l.Share0 > 0.5));

        var series = ok.GroupBy(r => (r.Dataset, r.Architecture, r.Condition)).Select(g => g.OrderBy(r => r.Depth).ToList()).Where(s => s.Count >= 2).ToList();
        int deeper = series.Count(s => s[^1].Measurement.Instability > s[0].Measurement.Instability);
        yield return new Claim("the inconsistent part grows for deeper layers: instability of the deepest layer > the shallowest, per pair",
            series.Count == 0 ? "fewer than two layers measured" :
            $"{deeper}/{series.Count} pairs: " + string.Join("; ", series.Select(s => $"{s[0].Dataset} {s[0].Architecture} {s[0].Condition} {s[0].Measurement.Instability:F3} → {s[^1].Measurement.Instability:F3}")),
            "conv4 → conv5: AlexNet 0.086 → 0.116, VGG-16 0.124 → 0.196 (Table 1)",
            series.Count > 0 && deeper == series.Count);

        var byData = config.Conditions.Where(c => c.DisjointData).OrderBy(c => c.SplitFactor).ToList();
        if (byData.Count >= 2)
        {
            var (more, less) = (byData[0].Name, byData[^1].Name);
            var groups = ok.GroupBy(r => (r.Dataset, r.Architecture)).Select(g =>
            {
                var m = g.Where(r => r.Condition == more).ToList();
                var l = g.Where(r => r.Condition == less).ToList();
                return (g.Key, More: m.Count == 0 ? double.NaN : m.Average(r => r.Measurement.Instability!.Value), Less: l.Count == 0 ? double.NaN : l.Average(r => r.Measurement.Instability!.Value));
            }).Where(x => double.IsFinite(x.More) && double.IsFinite(x.Less)).ToList();
            yield return new Claim($"the inconsistent part grows for networks trained on less data: mean instability over layers, {less} > {more}",
                groups.Count == 0 ? "not measured" : string.Join("; ", groups.Select(x => $"{x.Key.Dataset} {x.Key.Architecture}: {x.Less:F3} vs {x.More:F3}")),
                "the paper compares different data with different initialisations (Table 1), not data sizes",
                groups.Count > 0 && groups.All(x => x.Less > x.More));
        }

        var refinements = rows.Where(r => r.Refinement.Count > 0).Select(r =>
        {
            double? raw = r.Refinement[0].Accuracy;
            double? consistent = r.Refinement[^1].Accuracy;
            return (Row: r, Raw: raw, Consistent: consistent);
        }).ToList();
        var measured = refinements.Where(x => x.Raw is not null && x.Consistent is not null).ToList();
        yield return new Claim("consistent components classify at least as well as A's raw features (all orders summed; tolerance 0.5 pp)",
            measured.Count == 0 ? "not measured" : string.Join("; ", measured.Select(x => $"{x.Row.Dataset} {x.Row.Architecture} {x.Row.Condition} {x.Row.Layer}: {x.Consistent:P1} vs {x.Raw:P1}")),
            "VGG-16 conv4-3: 45.06% vs 43.15% (network A); ResNet-18: 38.23% vs 31.05% (refinement table)",
            measured.Count > 0 && measured.Count == refinements.Count && measured.All(x => x.Consistent >= x.Raw - 0.005));
    }
}
