using System.Diagnostics;
using Microsoft.Data.Analysis;
using Plotly.NET;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Data;
using Workbench.Evaluation;
using Workbench.Experiments.AttributionAxioms;
using Workbench.Runtime;
using Workbench.Training;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Experiments.SanityChecks;

/// <summary>
/// Experiment E5: the sanity checks of Adebayo et al. (2018, "Sanity checks for saliency maps") — model-parameter
/// randomization (cascading from the logits down, and independent per layer) and data randomization (a network trained
/// on shuffled labels) — with the similarity measures of the paper (Spearman of absolute and of signed maps, SSIM, HOG
/// correlation), and the faithfulness of each method (Quantus' faithfulness and robustness metrics).
/// </summary>
public sealed record SanityChecksConfig
{
    public DatasetName Dataset { get; init; } = DatasetName.Mnist;
    public int TrainImages { get; init; } = 60_000;
    public int Epochs { get; init; } = 2;
    /// <summary>Test images whose maps are compared (the paper: 200 ImageNet images for the figures).</summary>
    public int Images { get; init; } = 64;
    /// <summary>The methods of the paper's Fig. 2 that the library has (names of <see cref="AttributionTour"/>).</summary>
    public IReadOnlyList<string> Methods { get; init; } = new[]
        { "Gradient", "SmoothGrad", "InputXGradient", "IntegratedGradients", "GuidedBackprop", "GradCam", "GuidedGradCam", "DeepLift", "LRP-ε" };
    /// <summary>Training images with shuffled labels for the data-randomization test, and the epochs to memorise them.</summary>
    public int RandomLabelImages { get; init; } = 5_000;
    public int RandomLabelEpochs { get; init; } = 60;
    /// <summary>Test images of the faithfulness table (Quantus' metrics at their defaults).</summary>
    public int FaithfulnessImages { get; init; } = 64;
    public string Layer { get; init; } = "act2";
    public int Seed { get; init; }

    public static SanityChecksConfig Quick { get; } = new()
    {
        TrainImages = 5_000, Epochs = 2, Images = 16, RandomLabelImages = 1_000, RandomLabelEpochs = 30, FaithfulnessImages = 16,
    };

    public static SanityChecksConfig Full { get; } = new();

    public MethodSetup Setup => new(Layer, 28, 28, Samples: 200, RiseMasks: 500, Permutations: 10, Seed: Seed);
}

/// <summary>Maps of every method at every stage of a randomization, and their similarity to the original maps.</summary>
/// <param name="Table">Long format: mode, stage (0 = original), layer, method, measure, value (mean over images).</param>
/// <param name="ExampleMaps">Per method, the first image's map at each stage [stages, C, H, W].</param>
public sealed record RandomizationStudy(string Mode, IReadOnlyList<string> Stages, DataFrame Table, IReadOnlyDictionary<string, Tensor> ExampleMaps) : IDisposable
{
    public void Dispose() { foreach (var t in ExampleMaps.Values) t.Dispose(); }
}

public sealed record SanityChecksResult(DataFrame Models, DataFrame Cascading, DataFrame Independent, DataFrame EdgeSimilarity, DataFrame DataRandomization,
    DataFrame Faithfulness, DataFrame Claims, GenericChart CascadingFigure, GenericChart IndependentFigure, TimeSpan Duration);

public static class SanityChecksExperiment
{
    /// <summary>The paper's similarity measures: Spearman rank correlation of absolute and of signed maps, SSIM, HOG-feature correlation.</summary>
    public static IReadOnlyList<(string Name, Func<Tensor, Tensor, MetricResult> Similarity)> Measures { get; } = new (string, Func<Tensor, Tensor, MetricResult>)[]
    {
        ("spearman_abs", (a, b) => SpearmanRankCorrelation.Evaluate(a, b, absolute: true)),
        ("spearman_signed", (a, b) => SpearmanRankCorrelation.Evaluate(a, b, absolute: false)),
        ("ssim", (a, b) => Ssim.Evaluate(a, b)),
        ("hog", (a, b) => HogCorrelation.Evaluate(a, b)),
    };

    public static Classifier TrainClassifier(SanityChecksConfig config, ModelCache cache, IProgressSink? progress = null) =>
        Classifier.Train(config.Dataset, config.TrainImages, config.Epochs, Math.Max(config.Images, config.FaithfulnessImages), config.Seed, cache, progress);

    /// <summary>The same CNN trained to memorise shuffled labels (its training accuracy says how far it memorised).</summary>
    public static Classifier TrainOnShuffledLabels(SanityChecksConfig config, ModelCache cache, IProgressSink? progress = null) =>
        Classifier.Train(config.Dataset, config.RandomLabelImages, config.RandomLabelEpochs, config.Images, config.Seed, cache, progress, shuffleLabels: true);

    /// <summary>Every method's maps for the images and targets (each map a fresh tensor the caller owns).</summary>
    public static Dictionary<string, Tensor> Maps(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, IReadOnlyList<TourMethod> methods, MethodSetup setup)
    {
        var maps = new Dictionary<string, Tensor>();
        foreach (var m in methods)
        {
            using var a = m.Make(model, setup).Attribute(images, Target.PerExample(targets));
            maps[m.Name] = a.Map.detach().clone();
        }
        return maps;
    }

    /// <summary>
    /// Model-parameter randomization (<see cref="ModelParameterRandomization.ForEachStage"/>): at every stage every method
    /// explains the same images again; each measure compares the new maps with the original ones. The model is restored.
    /// </summary>
    public static RandomizationStudy Randomize(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, IReadOnlyList<TourMethod> methods,
        MethodSetup setup, bool cascading, int seed = 0, IProgressSink? progress = null)
    {
        var original = Maps(model, images, targets, methods, setup);
        var stages = new List<string> { "original" };
        var rows = new List<(int Stage, string Layer, string Method, string Measure, double Value)>();
        var examples = methods.ToDictionary(m => m.Name, m => new List<Tensor> { original[m.Name].narrow(0, 0, 1).clone() });
        foreach (var m in methods)
            foreach (var (measure, similarity) in Measures)
                rows.Add((0, "original", m.Name, measure, similarity(original[m.Name], original[m.Name]).DefinedMean));
        var layers = ModelParameterRandomization.LayersFromLogits(model);
        using var task = (progress ?? NullProgress.Instance).Start($"{(cascading ? "cascading" : "independent")} randomization", layers.Count);
        try
        {
            ModelParameterRandomization.ForEachStage(model, cascading, seed, layer =>
            {
                stages.Add(layer);
                var randomized = Maps(model, images, targets, methods, setup);
                try
                {
                    foreach (var m in methods)
                    {
                        foreach (var (measure, similarity) in Measures)
                            rows.Add((stages.Count - 1, layer, m.Name, measure, similarity(original[m.Name], randomized[m.Name]).DefinedMean));
                        examples[m.Name].Add(randomized[m.Name].narrow(0, 0, 1).clone());
                    }
                }
                finally { foreach (var t in randomized.Values) t.Dispose(); }
                task.Report(stages.Count - 1, layer);
            });
        }
        finally { foreach (var t in original.Values) t.Dispose(); }
        var table = new DataFrame(
            new StringDataFrameColumn("mode", rows.Select(_ => cascading ? "cascading" : "independent")),
            new Int32DataFrameColumn("stage", rows.Select(r => r.Stage)),
            new StringDataFrameColumn("layer", rows.Select(r => r.Layer)),
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new StringDataFrameColumn("measure", rows.Select(r => r.Measure)),
            new DoubleDataFrameColumn("similarity", rows.Select(r => r.Value)));
        var exampleMaps = examples.ToDictionary(e => e.Key, e => { var t = torch.cat(e.Value, 0); foreach (var x in e.Value) x.Dispose(); return t; });
        return new RandomizationStudy(cascading ? "cascading" : "independent", stages, table, exampleMaps);
    }

    /// <summary>The paper's Fig. 2/4 curves: similarity to the original map (one measure) per method, x = layers randomized.</summary>
    public static GenericChart Figure(RandomizationStudy study, string measure = "spearman_abs")
    {
        var t = study.Table;
        var rows = Enumerable.Range(0, (int)t.Rows.Count).Where(i => (string)t["measure"][i] == measure).ToList();
        if (rows.Count == 0) throw new ArgumentException($"no measure '{measure}'; known: {string.Join(", ", Measures.Select(m => m.Name))}.", nameof(measure));
        var series = rows.GroupBy(i => (string)t["method"][i]).Select(g => new Series<string>(g.Key,
            g.Select(i => study.Stages[(int)t["stage"][i]!]).ToList(), g.Select(i => (double)t["similarity"][i]!).ToList())).ToList();
        string x = study.Mode == "cascading" ? "randomized down to layer (cascading from the logits)" : "layer randomized (alone)";
        return LineFigures.Lines(series, x, $"similarity to the original map ({measure})", $"{(study.Mode == "cascading" ? "Cascading" : "Independent")} randomization: {measure}",
            yRange: (-0.2, 1.05));
    }

    /// <summary>The first image's map at every stage, one row per method (the paper's Fig. 2 rows).</summary>
    public static GenericChart StageFigure(RandomizationStudy study, Tensor image)
    {
        using var scope = torch.NewDisposeScope();
        var methods = study.ExampleMaps.Keys.ToList();
        var images = image.narrow(0, 0, 1).expand(methods.Count, -1, -1, -1).contiguous();
        var columns = study.Stages.Select((stage, s) => (stage, torch.cat(methods.Select(m => study.ExampleMaps[m].narrow(0, s, 1)).ToList(), 0))).ToList();
        return AttributionFigures.Grid(images, columns, rowLabels: methods, title: $"{study.Mode} randomization: the maps of one image, stage by stage");
    }

    /// <summary>Spearman (absolute maps) of each method's map with the input's Sobel edge magnitude: how much a map is an edge detector.</summary>
    public static DataFrame EdgeSimilarity(Tensor images, IReadOnlyDictionary<string, Tensor> maps)
    {
        using var edges = SobelMagnitude(images);
        return new DataFrame(new StringDataFrameColumn("method", maps.Keys),
            new DoubleDataFrameColumn("spearman_with_edges", maps.Values.Select(m => SpearmanRankCorrelation.Evaluate(m.abs().sum(1, keepdim: true), edges, absolute: true).DefinedMean)));
    }

    /// <summary>|∇I| by the 3×3 Sobel operator on the channel mean, [N, 1, H, W] (zero padding).</summary>
    public static Tensor SobelMagnitude(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var grey = images.mean(new long[] { 1 }, keepdim: true);
        var kx = torch.tensor(new float[] { -1, 0, 1, -2, 0, 2, -1, 0, 1 }).reshape(1, 1, 3, 3).to_type(grey.dtype);
        var gx = nn.functional.conv2d(grey, kx, padding: new long[] { 1, 1 });
        var gy = nn.functional.conv2d(grey, kx.transpose(2, 3), padding: new long[] { 1, 1 });
        return (gx.pow(2) + gy.pow(2)).sqrt().MoveToOuterDisposeScope();
    }

    /// <summary>Data randomization: per method, the similarity of the real network's maps and the shuffled-label network's maps (same images, true labels).</summary>
    public static DataFrame DataRandomization(Classifier real, Classifier shuffled, Tensor images, Tensor targets, IReadOnlyList<TourMethod> methods, MethodSetup setup)
    {
        var a = Maps(real.Model, images, targets, methods, setup);
        var b = Maps(shuffled.Model, images, targets, methods, setup);
        try
        {
            return new DataFrame(new StringDataFrameColumn("method", methods.Select(m => m.Name)),
                new DoubleDataFrameColumn("spearman_abs", methods.Select(m => SpearmanRankCorrelation.Evaluate(a[m.Name], b[m.Name], absolute: true).DefinedMean)),
                new DoubleDataFrameColumn("ssim", methods.Select(m => Ssim.Evaluate(a[m.Name], b[m.Name]).DefinedMean)));
        }
        finally { foreach (var t in a.Values.Concat(b.Values)) t.Dispose(); }
    }

    /// <summary>Faithfulness and robustness per method: Quantus' metrics at their defaults (<see cref="EvaluationTable"/>), long format with ranks.</summary>
    public static DataFrame Faithfulness(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, IReadOnlyList<TourMethod> methods, MethodSetup setup,
        int seed = 0, IProgressSink? progress = null)
    {
        var metrics = EvaluationTable.Standard.Where(m => m.Family is "faithfulness" or "robustness").ToList();
        metrics.Add(new MetricSpec("pixel_flipping_aopc", "faithfulness", Preferred.Higher, m => RegionPerturbation.Evaluate(m.Model, m.Inputs, m.Targets, m.Maps, seed: m.Seed)));
        return EvaluationTable.Evaluate(model, images, targets, methods.Select(m => (m.Name, m.Make(model, setup))).ToList(), metrics, seed, progress);
    }

    static double Similarity(DataFrame table, string method, string layer, string measure = "spearman_abs")
    {
        for (int i = 0; i < table.Rows.Count; i++)
            if ((string)table["method"][i] == method && (string)table["layer"][i] == layer && (string)table["measure"][i] == measure) return (double)table["similarity"][i]!;
        throw new ArgumentException($"no similarity for {method} at {layer} ({measure}).", nameof(method));
    }

    /// <summary>The paper's statements as claims, computed from the tables.</summary>
    public static IReadOnlyList<Claim> Claims(RandomizationStudy cascading, DataFrame edges, DataFrame data)
    {
        // "Top layers": the logits layer and the one below it (the first two stages of the cascade).
        string top2 = cascading.Stages[Math.Min(2, cascading.Stages.Count - 1)], all = cascading.Stages[^1];
        double grad = Similarity(cascading.Table, "Gradient", top2), smooth = Similarity(cascading.Table, "SmoothGrad", top2);
        double gbAll = Similarity(cascading.Table, "GuidedBackprop", all), gradAll = Similarity(cascading.Table, "Gradient", all);
        double EdgeOf(string m) => (double)edges["spearman_with_edges"][Enumerable.Range(0, (int)edges.Rows.Count).First(i => (string)edges["method"][i] == m)]!;
        var passing = cascading.Table.Rows.Where(r => (string)r["layer"] == all && (string)r["measure"] == "spearman_abs" && (double)r["similarity"] < AttributionScorecard.RandomizationThreshold)
            .Select(r => (string)r["method"]).ToList();
        var dataRho = Enumerable.Range(0, (int)data.Rows.Count).ToDictionary(i => (string)data["method"][i], i => (double)data["spearman_abs"][i]!);
        var passingRho = passing.Where(dataRho.ContainsKey).Select(m => (m, dataRho[m])).ToList();
        return new[]
        {
            new Claim($"Gradient and SmoothGrad change sharply when the top layers are randomized (Spearman |map| < 0.5 once the cascade reaches {top2})",
                $"gradient ρ = {grad:F2}, SmoothGrad ρ = {smooth:F2}", "Adebayo et al., Fig. 2: both drop within the first layers", grad < 0.5 && smooth < 0.5),
            new Claim("Guided backprop stays close to its original map when every layer is randomized, while the gradient does not",
                $"fully randomized: guided backprop ρ = {gbAll:F2}, gradient ρ = {gradAll:F2}", "Adebayo et al.: guided backprop and guided Grad-CAM are invariant to higher layers",
                gbAll >= AttributionScorecard.RandomizationThreshold && gradAll < AttributionScorecard.RandomizationThreshold),
            new Claim("Guided backprop resembles an edge detector of the input more than the gradient does",
                $"Spearman with Sobel edges: guided backprop {EdgeOf("GuidedBackprop"):F2}, gradient {EdgeOf("Gradient"):F2}", "Adebayo et al., §4 (edge detector comparison)",
                EdgeOf("GuidedBackprop") > EdgeOf("Gradient")),
            new Claim("For the methods that pass model randomization, the shuffled-label network's maps differ from the real network's (Spearman |map| < 0.5)",
                passingRho.Count == 0 ? "no method passed model randomization" : string.Join(", ", passingRho.Select(p => $"{p.m} {p.Item2:F2}")),
                "Adebayo et al., §5, Fig. 5", passingRho.Count > 0 && passingRho.All(p => p.Item2 < 0.5)),
        };
    }

    /// <summary>The whole protocol; the notebook runs the same steps one by one.</summary>
    public static SanityChecksResult Run(SanityChecksConfig config, ModelCache? cache = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        cache ??= new ModelCache();
        var clock = Stopwatch.StartNew();
        var methods = AttributionTour.Select(config.Methods.ToArray());
        using var real = TrainClassifier(config, cache, progress);
        using var shuffled = TrainOnShuffledLabels(config, cache, progress);
        using var images = real.Test.Inputs.narrow(0, 0, config.Images);
        using var targets = real.Test.Labels.narrow(0, 0, config.Images);
        using var cascading = Randomize(real.Model, images, targets, methods, config.Setup, cascading: true, config.Seed, progress);
        using var independent = Randomize(real.Model, images, targets, methods, config.Setup, cascading: false, config.Seed, progress);
        var maps = Maps(real.Model, images, targets, methods, config.Setup);
        DataFrame edges;
        try { edges = EdgeSimilarity(images, maps); }
        finally { foreach (var t in maps.Values) t.Dispose(); }
        var data = DataRandomization(real, shuffled, images, targets, methods, config.Setup);
        using var fImages = real.Test.Inputs.narrow(0, 0, config.FaithfulnessImages);
        using var fTargets = real.Test.Labels.narrow(0, 0, config.FaithfulnessImages);
        var faithfulness = Faithfulness(real.Model, fImages, fTargets, methods, config.Setup, config.Seed, progress);
        var models = new DataFrame(new StringDataFrameColumn("model", new[] { real.Dataset, shuffled.Dataset }),
            new DoubleDataFrameColumn("train_accuracy", new[] { real.History.Last.TrainAccuracy, shuffled.History.Last.TrainAccuracy }),
            new DoubleDataFrameColumn("test_accuracy", new[] { real.TestAccuracy, shuffled.TestAccuracy }));
        return new SanityChecksResult(models, cascading.Table, independent.Table, edges, data, faithfulness,
            ClaimsTable.ToDataFrame(Claims(cascading, edges, data)), Figure(cascading), Figure(independent), clock.Elapsed);
    }
}
