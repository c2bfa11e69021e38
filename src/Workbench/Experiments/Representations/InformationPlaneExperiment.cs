using Microsoft.Data.Analysis;
using Plotly.NET;
using Plotly.NET.CSharp;
using Workbench.Data;
using Workbench.Representations;
using Workbench.Runtime;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.Representations;

/// <summary>
/// Experiment E9, part 2 (Darlow &amp; Storkey, <i>What Information Does a ResNet Compress?</i>, 2020): a small ResNet trained
/// for classification and, separately, as an autoencoder; at checkpoints, decoders on h1..h4 estimate I(x; h) and I(y; h)
/// (<see cref="MutualInformation"/>): the information plane over training (the seed's panels a and b).
/// </summary>
public sealed record InformationPlaneConfig
{
    public DatasetName Dataset { get; init; } = DatasetName.Mnist;
    /// <summary>Training images of the tracked network.</summary>
    public int TrainImages { get; init; } = 20_000;
    /// <summary>Images (from the training set, after the network's) the decoders are trained on.</summary>
    public int FitImages { get; init; } = 4_000;
    /// <summary>Test images the decoders are scored on.</summary>
    public int TestImages { get; init; } = 2_000;
    public IReadOnlyList<TrackingObjective> Objectives { get; init; } = new[] { TrackingObjective.Classification, TrackingObjective.Autoencoding };
    public TrackingOptions Tracking { get; init; } = new() { Checkpoints = new long[] { 0, 100, 300, 1_000, 3_000, 6_000 } };
    public int Seed { get; init; }

    /// <summary>
    /// About a minute: 3,000 training images, checkpoints at 0, 150 and 600 steps, decoders on 500 images for 10 epochs (with 4, the
    /// decoder on the raw image trailed those on h1..h3: too few steps to learn a near-identity map; with 20 they overfit h1).
    /// </summary>
    public static InformationPlaneConfig Quick { get; } = new()
    {
        TrainImages = 3_000, FitImages = 500, TestImages = 300,
        Tracking = new TrackingOptions
        {
            Checkpoints = new long[] { 0, 150, 600 },
            Decoder = new ProbeOptions { Hidden = new[] { 128 }, Epochs = 10, LearningRate = 3e-3 },
            Classifier = new ProbeOptions { Hidden = new[] { 128 }, Epochs = 10, LearningRate = 3e-3 },
        },
    };

    public static InformationPlaneConfig Full { get; } = new();
}

public sealed record InformationPlaneResult(IReadOnlyList<InformationPoint> Points, DataFrame Table, DataFrame Claims, IReadOnlyList<GenericChart> Planes,
    GenericChart InputInformationChart, TimeSpan Duration);

public static class InformationPlaneExperiment
{
    /// <summary>The tracked network's training images, the decoders' (disjoint from them) and the test images.</summary>
    public static (TensorDataset Train, TensorDataset Fit, TensorDataset Test) Splits(InformationPlaneConfig config, DatasetSplit data)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        if (config.TrainImages + config.FitImages > data.Train.Count)
            throw new ArgumentOutOfRangeException(nameof(config), $"TrainImages + FitImages must be <= {data.Train.Count}; got {config.TrainImages} + {config.FitImages}.");
        var train = data.Train.Subset(Enumerable.Range(0, config.TrainImages).Select(i => (long)i).ToArray());
        var fit = data.Train.Subset(Enumerable.Range(config.TrainImages, config.FitImages).Select(i => (long)i).ToArray());
        return (train, fit, data.Test.Take(config.TestImages));
    }

    public static InformationPlaneResult Run(InformationPlaneConfig config, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        progress ??= NullProgress.Instance;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var data = Workbench.Data.Datasets.Load(config.Dataset, progress: progress);
        var (train, fit, test) = Splits(config, data);
        using (train) using (fit) using (test)
        {
            var points = new List<InformationPoint>();
            foreach (var objective in config.Objectives)
                points.AddRange(InformationTracking.Run(objective, train, fit, test, config.Tracking with { Seed = config.Seed }, progress.Within(objective.ToString()),
                    untrained: points.Where(p => p.Step == 0).GroupBy(p => p.Layer).Select(g => g.First()).ToList()));
            return new InformationPlaneResult(points, Table(points), ClaimsTable.ToDataFrame(Claims(points)),
                config.Objectives.Select(o => Plane(points, o)).ToList(), InputInformationChart(points), clock.Elapsed);
        }
    }

    /// <summary>One row per (objective, checkpoint, layer); null estimates where a decoder diverged (see status).</summary>
    public static DataFrame Table(IReadOnlyList<InformationPoint> points) => new(
        new StringDataFrameColumn("training", points.Select(p => p.Objective.ToString().ToLowerInvariant())),
        new Int64DataFrameColumn("step", points.Select(p => p.Step)),
        new StringDataFrameColumn("layer", points.Select(p => p.Layer)),
        new DoubleDataFrameColumn("I(x;h) [nats]", points.Select(p => p.Input.Bound)),
        new DoubleDataFrameColumn("I(y;h) [nats]", points.Select(p => p.Label.Bound)),
        new DoubleDataFrameColumn("Ĥ(x)", points.Select(p => double.IsFinite(p.Input.Entropy) ? p.Input.Entropy : (double?)null)),
        new DoubleDataFrameColumn("H(y)", points.Select(p => double.IsFinite(p.Label.Entropy) ? p.Label.Entropy : (double?)null)),
        new DoubleDataFrameColumn("training loss", points.Select(p => double.IsFinite(p.TrainLoss) ? p.TrainLoss : (double?)null)),
        new DoubleDataFrameColumn("test accuracy", points.Select(p => p.TestAccuracy)),
        new StringDataFrameColumn("status", points.Select(p => p.Input.Ok && p.Label.Ok ? "ok" : $"{p.Input.Status}; {p.Label.Status}")));

    /// <summary>The information plane of one training objective: I(x; h) against I(y; h), one line per layer through the checkpoints.</summary>
    public static GenericChart Plane(IReadOnlyList<InformationPoint> points, TrackingObjective objective)
    {
        var mine = points.Where(p => p.Objective == objective && p.Input.Ok && p.Label.Ok).ToList();
        var steps = mine.Select(p => p.Step).Distinct().OrderBy(s => s).ToList();
        return Plotly.NET.Chart.withTitle($"Information plane, {objective.ToString().ToLowerInvariant()} training (checkpoints at steps {string.Join(", ", steps)}, in order along each line)",
            Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(mine.GroupBy(p => p.Layer).Select(g =>
            {
                var ordered = g.OrderBy(p => p.Step).ToList();
                return CSharpChart.Line<double, double, string>(x: ordered.Select(p => p.Input.Bound!.Value), y: ordered.Select(p => p.Label.Bound!.Value), Name: g.Key, ShowMarkers: true);
            })).WithXAxisStyle<double, double, string>(TitleText: "I(x; h) [nats]").WithYAxisStyle<double, double, string>(TitleText: "I(y; h) [nats]"));
    }

    /// <summary>I(x; h) against the training step, per objective and layer.</summary>
    public static GenericChart InputInformationChart(IReadOnlyList<InformationPoint> points) =>
        Plotly.NET.Chart.withTitle("I(x; h) over training", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(points.Where(p => p.Input.Ok).GroupBy(p => (p.Objective, p.Layer)).Select(g =>
            {
                var ordered = g.OrderBy(p => p.Step).ToList();
                return CSharpChart.Line<long, double, string>(x: ordered.Select(p => p.Step), y: ordered.Select(p => p.Input.Bound!.Value),
                    Name: $"{g.Key.Objective.ToString().ToLowerInvariant()} {g.Key.Layer}", ShowMarkers: true);
            })).WithXAxisStyle<long, long, string>(TitleText: "training step").WithYAxisStyle<double, double, string>(TitleText: "I(x; h) [nats]"));

    /// <summary>
    /// Claims, computed from the points. Compression: in classification, I(x; h4) peaks before the last checkpoint and ends
    /// at least 5% below its peak, while I(y; h4) at the end is at least its value at the peak. Autoencoding: I(x; h4) ends
    /// within 5% of its maximum (no compression). Not all irrelevant information is discarded: at the end of classification
    /// I(x; h4) exceeds H(y), the most the labels could need.
    /// </summary>
    public static IEnumerable<Claim> Claims(IReadOnlyList<InformationPoint> points)
    {
        string last = TrackedResNet.TrackedLayers[^1];
        List<InformationPoint> Series(TrackingObjective o) => points.Where(p => p.Objective == o && p.Layer == last).OrderBy(p => p.Step).ToList();
        static string Trace(IEnumerable<InformationPoint> s, Func<InformationPoint, InformationBound> pick) =>
            string.Join(" → ", s.Select(p => pick(p).Bound is double b ? $"{b:F1}" : "n/a"));

        var cls = Series(TrackingObjective.Classification);
        if (cls.Count >= 2)
        {
            bool ok = cls.All(p => p.Input.Ok && p.Label.Ok);
            int peak = ok ? cls.Select((p, i) => (p.Input.Bound!.Value, i)).Max().i : -1;
            bool holds = ok && peak < cls.Count - 1 && cls[^1].Input.Bound < 0.95 * cls[peak].Input.Bound && cls[^1].Label.Bound >= cls[peak].Label.Bound;
            yield return new Claim($"classification: I(x; {last}) falls late in training (compression) while I(y; {last}) rises",
                $"I(x;h) over steps {string.Join(", ", cls.Select(p => p.Step))}: {Trace(cls, p => p.Input)}; I(y;h): {Trace(cls, p => p.Label)}" + (ok ? "" : " (some decoders diverged)"),
                "fitting then compression for classification (the seed's panel a; Darlow & Storkey, Fig. 3)", holds);

            var end = cls[^1];
            yield return new Claim($"classification: not all irrelevant information is discarded: I(x; {last}) at the end > H(y)",
                end.Input.Ok ? $"I(x;h) {end.Input.Bound:F1} nats vs H(y) {end.Label.Entropy:F2} nats" : end.Input.Status,
                "samples conditioned on h4 keep class-irrelevant detail (the seed's PixelCNN++ samples)", end.Input.Ok && end.Input.Bound > end.Label.Entropy);
        }

        var ae = Series(TrackingObjective.Autoencoding);
        if (ae.Count >= 2)
        {
            bool ok = ae.All(p => p.Input.Ok);
            double max = ok ? ae.Max(p => p.Input.Bound!.Value) : double.NaN;
            yield return new Claim($"autoencoding: I(x; {last}) does not fall (ends within 5% of its maximum)",
                $"I(x;h) over steps {string.Join(", ", ae.Select(p => p.Step))}: {Trace(ae, p => p.Input)}" + (ok ? "" : " (some decoders diverged)"),
                "no compression phase for the autoencoder (the seed's panel b)", ok && ae[^1].Input.Bound >= 0.95 * max);
        }
    }
}
