using Microsoft.Data.Analysis;
using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Boundaries;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Data.Transforms;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using Workbench.Visualization;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.Boundaries;

/// <summary>
/// Experiment E7 (seed 003; Ortiz-Jiménez et al., "Hold me tight! Influence of discriminative features on deep
/// network boundaries", NeurIPS 2020): margins of minimal adversarial perturbations along chosen subspaces.
/// Synthetic data with one discriminative direction (Table 1), concentric hyperspheres (Table 2), and the
/// margins of a CNN along 21 diagonal DCT blocks on MNIST / Fashion-MNIST and their "flipped" versions (Fig. 2).
/// DeepFool's constants are the authors' (overshoot 0.02, ≤ 100 iterations, all classes, no clipping).
/// </summary>
public sealed record BoundariesConfig
{
    // Table 1: x = ε·y·u + n, n ~ N(0, σ²) orthogonal to u.
    /// <summary>D of the synthetic tasks; the MLP reads a 1×√D×√D "image", so D must be a square (paper: not stated on the slides).</summary>
    public int SyntheticDimension { get; init; } = 100;
    public double Epsilon { get; init; } = 5;
    public double Sigma { get; init; } = 1;
    public int SyntheticTrain { get; init; } = 10_000;
    /// <summary>M: test samples whose margins are measured (paper: 1,000).</summary>
    public int SyntheticTest { get; init; } = 1_000;
    /// <summary>S: dimension of the random subspaces S_ORTH and S_RAND (paper: 3).</summary>
    public int RandomSubspaceDimension { get; init; } = 3;
    public int SyntheticEpochs { get; init; } = 20;
    public int MlpWidth { get; init; } = 500;

    // Table 2: concentric hyperspheres, label = radius above 3.5.
    public int SpheresPerRadius { get; init; } = 2_500;
    public int SpheresTestPerRadius { get; init; } = 1_000;
    public int SpheresEpochs { get; init; } = 20;
    /// <summary>Random directions along which the boundary radius is searched (its median is reported).</summary>
    public int BoundaryDirections { get; init; } = 500;

    // Fig. 2: a CNN per dataset, plain and flipped.
    public IReadOnlyList<DatasetName> Datasets { get; init; } = new[] { DatasetName.Mnist, DatasetName.FashionMnist };
    public int TrainImages { get; init; } = 60_000;
    public int Epochs { get; init; } = 3;
    /// <summary>Test images the accuracy is measured on (the margin images are drawn from them).</summary>
    public int TestImages { get; init; } = 10_000;
    /// <summary>Test images whose margins are measured in every DCT block (authors: 100 random test images).</summary>
    public int MarginImages { get; init; } = 100;
    public DeepFoolOptions DeepFool { get; init; } = new();
    public int Seed { get; init; }

    public static BoundariesConfig Quick { get; } = new()
    {
        SyntheticTrain = 2_000, SyntheticTest = 100, SyntheticEpochs = 10, SpheresPerRadius = 500, SpheresTestPerRadius = 200, SpheresEpochs = 15,
        BoundaryDirections = 100, TrainImages = 5_000, TestImages = 2_000, Epochs = 1, MarginImages = 12,
    };

    /// <summary>The whole protocol above: 30.8 min from a cold model cache on 2 shared CPU cores (2026-11-30).</summary>
    public static BoundariesConfig Full { get; } = new();
}

/// <summary>Margins of one trained CNN along every DCT block.</summary>
public sealed record DctMargins(string Dataset, bool Flipped, double TestAccuracy, IReadOnlyList<MarginSummary> Blocks);

/// <summary>One sphere-training set of Table 2: boundary radius (median over directions) and accuracies.</summary>
public sealed record SphereRow(string TrainRadii, double BoundaryRadius, double AccuracyOuter, double AccuracyInner, int DirectionsWithoutBoundary);

public sealed record BoundariesResult(DataFrame SyntheticMargins, DataFrame Spheres, DataFrame DctMarginTable, DataFrame Models, DataFrame Claims,
    GenericChart MarginHeatmap, GenericChart MarginCurves, IReadOnlyList<MarginSummary> Synthetic, IReadOnlyList<SphereRow> SphereRows,
    IReadOnlyList<DctMargins> Dct, TimeSpan Duration);

public static class BoundariesExperiment
{
    /// <summary>The seed's Table 1 (MLP on T1(ε = 5, σ = 1, N = 10,000), M = 1,000, S = 3): 5th percentile, median, 95th percentile.</summary>
    public static readonly IReadOnlyDictionary<string, (double P5, double Median, double P95)> SeedTable1 = new Dictionary<string, (double, double, double)>
    {
        ["u1"] = (1.74, 2.50, 3.22), ["span{u1}⊥"] = (4.85, 12.36, 31.60), ["S_ORTH"] = (30.68, 102.0, 229.5), ["S_RAND"] = (17.21, 27.90, 80.61),
    };

    /// <summary>The seed's Table 2: training radii → (boundary radius, accuracy % on r ∈ {1, 5}, on r ∈ {3, 4}).</summary>
    public static readonly IReadOnlyDictionary<string, (double Radius, double Outer, double Inner)> SeedTable2 = new Dictionary<string, (double, double, double)>
    {
        ["{1, 3, 4, 5}"] = (3.47, 100.0, 99.99), ["{1, 5}"] = (2.75, 100.0, 54.8), ["{3, 4}"] = (3.50, 100.0, 100.0),
    };

    /// <summary>The seed's test accuracies (%) of Fig. 2 (LeNet on MNIST, plain and flipped).</summary>
    public static readonly IReadOnlyDictionary<string, double> SeedAccuracy = new Dictionary<string, double> { ["mnist"] = 99.35, ["mnist flipped"] = 99.34 };

    public static readonly IReadOnlyList<double[]> SphereTrainingRadii = new[] { new[] { 1.0, 3, 4, 5 }, new[] { 1.0, 5 }, new[] { 3.0, 4 } };

    /// <summary>The MLP of the synthetic tasks: D inputs (read as a 1×√D×√D image), hidden [w, w/2], 2 classes.</summary>
    public static ModelSpec SyntheticMlp(BoundariesConfig config)
    {
        int side = (int)Math.Round(Math.Sqrt(config.SyntheticDimension));
        if (side * side != config.SyntheticDimension || side < 10)
            throw new ArgumentOutOfRangeException(nameof(config), config.SyntheticDimension, $"SyntheticDimension must be a square ≥ 100 (the MLP reads a √D×√D image); got {config.SyntheticDimension}.");
        return new ModelSpec("mlp", InputChannels: 1, ImageSize: side, Classes: 2, Width: config.MlpWidth);
    }

    /// <summary>The CNN of the DCT-margin part: the workbench's small CNN (the authors use LeNet 6-16-120-84).</summary>
    public static ModelSpec ImageCnn { get; } = new("cnn");

    public static TrainOptions SyntheticTraining(BoundariesConfig config, int epochs) => new() { Epochs = epochs, BatchSize = 128, Seed = config.Seed };
    /// <summary>Adam 1e-3, batch 32 (the authors: SGD with a triangular schedule, batch 128, 30 epochs; see the notebook).</summary>
    public static TrainOptions ImageTraining(BoundariesConfig config) => new() { Epochs = config.Epochs, Seed = config.Seed };

    /// <summary>The unit vector u (seeded) and the train / test sets of T1(ε, σ).</summary>
    public static (Tensor Direction, TensorDataset Train, TensorDataset Test) DiscriminativeData(BoundariesConfig config)
    {
        using var g = new torch.Generator((ulong)(config.Seed + 17));
        using var raw = torch.randn(new long[] { config.SyntheticDimension }, generator: g);
        var u = raw / raw.norm();
        return (u, Generators.DiscriminativeDirection(config.SyntheticTrain, u, config.Epsilon, config.Sigma, config.Seed),
            Generators.DiscriminativeDirection(config.SyntheticTest, u, config.Epsilon, config.Sigma, config.Seed + 1));
    }

    /// <summary>Table 1's subspaces: span{u}, its orthogonal complement, a random S-dim subspace of the complement (S_ORTH), a random S-dim subspace (S_RAND).</summary>
    public static IReadOnlyList<Subspace> DiscriminativeSubspaces(Tensor direction, BoundariesConfig config)
    {
        using var u = direction.reshape(1, -1);
        return new[]
        {
            new Subspace(u, "u1"),
            Subspace.ComplementOf(u, "span{u1}⊥"),
            Subspace.RandomOrthogonalTo(u, config.RandomSubspaceDimension, config.Seed + 3, "S_ORTH"),
            Subspace.Random(u.shape[1], config.RandomSubspaceDimension, config.Seed + 4, "S_RAND"),
        };
    }

    /// <summary>A dataset's images with their DCT spectrum flipped (low ↔ high frequencies), labels unchanged.</summary>
    public static TensorDataset Flipped(TensorDataset data) => new(Dct2D.Flip(data.Inputs), data.Labels.clone(), $"{data.Name}-dct-flipped", data.Classes);

    /// <summary>
    /// The boundary radius of a two-class model on concentric spheres: along each direction, the smallest radius
    /// t ∈ (0, maxRadius] (steps of <paramref name="step"/>) where the prediction turns to the outer class. Median over
    /// directions; directions without a change count as +∞ and are counted.
    /// </summary>
    public static (double Median, int WithoutBoundary) BoundaryRadius(Func<Tensor, Tensor> model, Tensor directions, double maxRadius = 8, double step = 0.01)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = EvalMode.Enter(model);
        using var noGrad = torch.no_grad();
        var units = directions.flatten(1) / directions.flatten(1).norm(1, keepdim: true);
        int steps = (int)Math.Round(maxRadius / step);
        var radii = torch.arange(1, steps + 1, dtype: ScalarType.Float32) * (float)step;
        var found = new List<double>();
        int without = 0;
        for (long i = 0; i < units.shape[0]; i++)
        {
            var points = radii.unsqueeze(1) * units[i].unsqueeze(0);
            var outer = model(points.reshape(new[] { (long)steps }.Concat(directions.shape.Skip(1)).ToArray())).argmax(1).eq(1).data<bool>().ToArray();
            int first = Array.IndexOf(outer, true);
            if (first < 0) { without++; found.Add(double.PositiveInfinity); }
            else found.Add((first + 1) * step);
        }
        return (MarginSummary.Percentile(found.Order().ToArray(), 50), without);
    }

    public static BoundariesResult Run(BoundariesConfig config, IProgressSink? progress = null, ModelCache? cache = null)
    {
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var synthetic = RunSynthetic(config, progress, cache);
        var spheres = RunSpheres(config, progress, cache);
        var dct = new List<DctMargins>();
        var blocks = DctSubspaces.Diagonal(28, 28);
        try
        {
            foreach (var dataset in config.Datasets)
                foreach (var flipped in new[] { false, true })
                    dct.Add(RunDct(dataset, flipped, blocks, config, progress, cache));
        }
        finally { foreach (var b in blocks) b.Dispose(); }
        return new BoundariesResult(SyntheticTable(synthetic), SphereTable(spheres), DctTable(dct), ModelTable(dct),
            ClaimsTable.ToDataFrame(Claims(synthetic, spheres, dct)), Heatmap(dct), Curves(dct), synthetic, spheres, dct, clock.Elapsed);
    }

    static IReadOnlyList<MarginSummary> RunSynthetic(BoundariesConfig config, IProgressSink progress, ModelCache cache)
    {
        var (u, train, test) = DiscriminativeData(config);
        using (u) using (train) using (test)
        {
            using var model = cache.GetOrTrain(SyntheticMlp(config), train, test, SyntheticTraining(config, config.SyntheticEpochs), progress).Model;
            var subspaces = DiscriminativeSubspaces(u, config);
            try
            {
                var results = DeepFool.AttackInSubspaces(model, test.Inputs, subspaces.Cast<Subspace?>().ToList(), config.DeepFool, progress);
                var summaries = subspaces.Zip(results, (s, r) => MarginSummary.Of(s.Name, r)).ToList();
                foreach (var r in results) r.Dispose();
                return summaries;
            }
            finally { foreach (var s in subspaces) s.Dispose(); }
        }
    }

    static IReadOnlyList<SphereRow> RunSpheres(BoundariesConfig config, IProgressSink progress, ModelCache cache)
    {
        int d = config.SyntheticDimension;
        using var outerTest = Generators.Hyperspheres(config.SpheresTestPerRadius, new[] { 1.0, 5 }, d, config.Seed + 101);
        using var innerTest = Generators.Hyperspheres(config.SpheresTestPerRadius, new[] { 3.0, 4 }, d, config.Seed + 102);
        using var directions = torch.randn(new long[] { config.BoundaryDirections, d }, generator: new torch.Generator((ulong)(config.Seed + 103)));
        var rows = new List<SphereRow>();
        foreach (var radii in SphereTrainingRadii)
        {
            using var train = Generators.Hyperspheres(config.SpheresPerRadius, radii, d, config.Seed + 100);
            using var model = cache.GetOrTrain(SyntheticMlp(config), train, innerTest, SyntheticTraining(config, config.SpheresEpochs), progress).Model;
            var (radius, without) = BoundaryRadius(model.call, directions);
            rows.Add(new SphereRow($"{{{string.Join(", ", radii)}}}", radius, Trainer.Evaluate(model, outerTest).Accuracy, Trainer.Evaluate(model, innerTest).Accuracy, without));
        }
        return rows;
    }

    /// <summary>Trains (or loads) the CNN of one dataset, plain or flipped, and measures its margins in every block.</summary>
    public static DctMargins RunDct(DatasetName dataset, bool flipped, IReadOnlyList<Subspace> blocks, BoundariesConfig config, IProgressSink progress, ModelCache cache)
    {
        var (model, test, accuracy) = TrainImageModel(dataset, flipped, config, progress, cache);
        using (model) using (test)
        {
            using var images = MarginImages(test, config);
            var results = DeepFool.AttackInSubspaces(model, images, blocks.Cast<Subspace?>().ToList(), config.DeepFool, progress);
            var summaries = blocks.Zip(results, (b, r) => MarginSummary.Of(b.Name, r)).ToList();
            foreach (var r in results) r.Dispose();
            return new DctMargins(Name(dataset, flipped), flipped, accuracy, summaries);
        }
    }

    /// <summary>The trained CNN of a dataset (plain or DCT-flipped), its test set (flipped alike) and test accuracy.</summary>
    public static (nn.Module<Tensor, Tensor> Model, TensorDataset Test, double Accuracy) TrainImageModel(DatasetName dataset, bool flipped, BoundariesConfig config,
        IProgressSink progress, ModelCache cache)
    {
        using var data = Workbench.Data.Datasets.Load(dataset, progress: progress);
        using var plain = data.Train.Take(config.TrainImages);
        using var train = flipped ? Flipped(plain) : plain.Take(plain.Count);
        using var plainTest = data.Test.Take(config.TestImages);
        var test = flipped ? Flipped(plainTest) : plainTest.Take(plainTest.Count);
        var trained = cache.GetOrTrain(ImageCnn, train, test, ImageTraining(config), progress);
        trained.Model.eval();
        return (trained.Model, test, trained.Result.TestAccuracy);
    }

    /// <summary>The seeded random test images whose margins are measured.</summary>
    public static Tensor MarginImages(TensorDataset test, BoundariesConfig config)
    {
        using var perm = TensorDataset.Permutation(test.Count, config.Seed + 7);
        using var pick = perm.narrow(0, 0, Math.Min(config.MarginImages, test.Count));
        return test.Inputs.index_select(0, pick);
    }

    public static string Name(DatasetName dataset, bool flipped) => Workbench.Data.Datasets.CliName(dataset) + (flipped ? " flipped" : "");

    /// <summary>Median over blocks of the per-block median margin, for the lowest and highest <paramref name="count"/> blocks.</summary>
    public static (double Low, double High) LowHighMedians(DctMargins d, int count = 5)
    {
        double Mid(IEnumerable<MarginSummary> s) => MarginSummary.Percentile(s.Select(b => b.Median).Order().ToArray(), 50);
        return (Mid(d.Blocks.Take(count)), Mid(d.Blocks.Skip(d.Blocks.Count - count)));
    }

    static IEnumerable<Claim> Claims(IReadOnlyList<MarginSummary> synthetic, IReadOnlyList<SphereRow> spheres, List<DctMargins> dct)
    {
        var u = synthetic[0];
        var others = synthetic.Skip(1).ToList();
        yield return new Claim("synthetic: the margin along the discriminative direction u1 is small, along every other subspace large (median ≥ 2× u1's)",
            string.Join(", ", synthetic.Select(s => $"{s.Subspace} {s.Median:G3}")), "u1 2.50; span{u1}⊥ 12.36; S_ORTH 102.0; S_RAND 27.90",
            others.All(s => s.Median >= 2 * u.Median));
        foreach (var d in dct)
        {
            var (low, high) = LowHighMedians(d);
            bool mnist = d.Dataset.StartsWith("mnist", StringComparison.Ordinal);
            yield return d.Flipped
                ? new Claim($"{d.Dataset}: the pattern flips, large margins at low frequencies and small at high (median of the 5 lowest vs 5 highest blocks' medians)",
                    $"low {low:G3}, high {high:G3}", mnist ? "Fig. 2(d): small at high, large at low frequencies" : "not in the seed (its flipped MNIST/CIFAR-10/ImageNet all flip)", low > high)
                : new Claim($"{d.Dataset}: small margins at low frequencies, large at high (median of the 5 lowest vs 5 highest blocks' medians)",
                    $"low {low:G3}, high {high:G3}", mnist ? "Fig. 2(a): small at low, large at high frequencies" : "not in the seed (MNIST, CIFAR-10, ImageNet: small at low)", low < high);
        }
        var two = spheres.First(s => s.TrainRadii == "{1, 5}");
        yield return new Claim("spheres trained on {1, 5}: accuracy on the intermediate radii {3, 4} is near chance (within 0.5 ± 0.15)",
            $"{100 * two.AccuracyInner:F1}%", "54.8%", Math.Abs(two.AccuracyInner - 0.5) <= 0.15);
        var rest = spheres.Where(s => s != two).ToList();
        yield return new Claim("spheres: the boundary radius of {1, 5} is below those of {1, 3, 4, 5} and {3, 4}",
            string.Join(", ", spheres.Select(s => $"{s.TrainRadii} {s.BoundaryRadius:F2}")), "2.75 < 3.47, 3.50", rest.All(s => two.BoundaryRadius < s.BoundaryRadius));
    }

    /// <summary>The percentile columns of Table 1 / Fig. 2: p5, median, p95 and how many did not flip.</summary>
    static DataFrameColumn[] SummaryColumns(IReadOnlyList<MarginSummary> s) => new DataFrameColumn[]
    {
        new DoubleDataFrameColumn("p5", s.Select(x => x.P5)),
        new DoubleDataFrameColumn("median", s.Select(x => x.Median)),
        new DoubleDataFrameColumn("p95", s.Select(x => x.P95)),
        new Int32DataFrameColumn("not_flipped", s.Select(x => x.NotFlipped)),
    };

    static DataFrame SyntheticTable(IReadOnlyList<MarginSummary> s) => new(new DataFrameColumn[] { new StringDataFrameColumn("subspace", s.Select(x => x.Subspace)) }
        .Concat(SummaryColumns(s)).Concat(new DataFrameColumn[]
        {
            new Int32DataFrameColumn("examples", s.Select(x => x.Count)),
            new DoubleDataFrameColumn("seed_p5", s.Select(x => SeedTable1[x.Subspace].P5)),
            new DoubleDataFrameColumn("seed_median", s.Select(x => SeedTable1[x.Subspace].Median)),
            new DoubleDataFrameColumn("seed_p95", s.Select(x => SeedTable1[x.Subspace].P95)),
        }));

    static DataFrame SphereTable(IReadOnlyList<SphereRow> rows) => new(
        new StringDataFrameColumn("train_radii", rows.Select(r => r.TrainRadii)),
        new DoubleDataFrameColumn("boundary_radius", rows.Select(r => r.BoundaryRadius)),
        new DoubleDataFrameColumn("acc_r_1_5_percent", rows.Select(r => 100 * r.AccuracyOuter)),
        new DoubleDataFrameColumn("acc_r_3_4_percent", rows.Select(r => 100 * r.AccuracyInner)),
        new Int32DataFrameColumn("directions_without_boundary", rows.Select(r => r.DirectionsWithoutBoundary)),
        new DoubleDataFrameColumn("seed_radius", rows.Select(r => SeedTable2[r.TrainRadii].Radius)),
        new DoubleDataFrameColumn("seed_acc_1_5", rows.Select(r => SeedTable2[r.TrainRadii].Outer)),
        new DoubleDataFrameColumn("seed_acc_3_4", rows.Select(r => SeedTable2[r.TrainRadii].Inner)));

    static DataFrame DctTable(List<DctMargins> dct)
    {
        var rows = dct.SelectMany(d => d.Blocks.Select((b, k) => (d.Dataset, k, b))).ToList();
        return new DataFrame(new DataFrameColumn[]
        {
            new StringDataFrameColumn("dataset", rows.Select(r => r.Dataset)), new Int32DataFrameColumn("block", rows.Select(r => r.k)),
        }.Concat(SummaryColumns(rows.Select(r => r.b).ToList())));
    }

    static DataFrame ModelTable(List<DctMargins> dct) => new(
        new StringDataFrameColumn("dataset", dct.Select(d => d.Dataset)),
        new DoubleDataFrameColumn("test_accuracy_percent", dct.Select(d => 100 * d.TestAccuracy)),
        new DoubleDataFrameColumn("seed_test_accuracy_percent", dct.Select(d => SeedAccuracy.TryGetValue(d.Dataset, out var a) ? a : double.NaN)),
        new Int32DataFrameColumn("pairs_not_flipped", dct.Select(d => d.Blocks.Sum(b => b.NotFlipped))));

    /// <summary>A slider over the blocks: the minimal perturbation of example <paramref name="index"/> in each block, its margin in the title.</summary>
    public static SliderFigure PerturbationSlider(IReadOnlyList<DeepFoolResult> perBlock, int index = 0) =>
        SliderFigure.Over("DCT block", Enumerable.Range(0, perBlock.Count), k =>
        {
            var p = perBlock[k].Perturbations[index];
            using var map = p.reshape(-1, p.shape[^2], p.shape[^1]).sum(new long[] { 0 }); // channels summed
            var margin = perBlock[k].Flipped[index] ? $"margin {perBlock[k].Margins[index]:F2}" : "not flipped within the cap";
            return Plotly.NET.Chart.withTitle($"δ_S(x) in block {k}: {margin}", Microsoft.FSharp.Core.FSharpOption<Font>.None)
                .Invoke(AttributionFigures.Heatmap(map, "RdBu"));
        }, title: "Minimal perturbation inside each DCT block");

    /// <summary>Median margin per DCT block (columns) and model (rows): Fig. 2's (a) beside (d). Not-flipped medians (∞) are drawn at the top of the scale.</summary>
    static GenericChart Heatmap(List<DctMargins> dct)
    {
        double top = dct.SelectMany(d => d.Blocks).Select(b => b.Median).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        var z = dct.Select(d => d.Blocks.Select(b => double.IsFinite(b.Median) ? b.Median : top).ToArray()).ToArray();
        return Plotly.NET.Chart.withTitle("Median margin per diagonal DCT block (low → high frequency)", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Heatmap<double, int, string, string>(zData: z, X: Enumerable.Range(0, dct[0].Blocks.Count).ToArray(), Y: dct.Select(d => d.Dataset).ToArray(),
                ColorScale: StyleParam.Colorscale.Viridis)
            .WithXAxisStyle<int, int, string>(TitleText: "DCT block (8×8, along the diagonal)"));
    }

    /// <summary>Median and 5–95 percentile lines per model over the blocks (the seed's Fig. 2 layout); ∞ points are left out.</summary>
    static GenericChart Curves(List<DctMargins> dct)
    {
        var traces = new List<GenericChart>();
        foreach (var d in dct)
            foreach (var (label, pick, dash) in new (string, Func<MarginSummary, double>, bool)[] { ("median", b => b.Median, false), ("p5", b => b.P5, true), ("p95", b => b.P95, true) })
            {
                var points = d.Blocks.Select((b, k) => (k, v: pick(b))).Where(p => double.IsFinite(p.v)).ToList();
                traces.Add(CSharpChart.Line<int, double, string>(x: points.Select(p => p.k), y: points.Select(p => p.v), Name: $"{d.Dataset} {label}", ShowMarkers: !dash,
                    LineDash: dash ? StyleParam.DrawingStyle.Dash : StyleParam.DrawingStyle.Solid));
            }
        return Plotly.NET.Chart.withTitle("Margin distribution per DCT block: median, 5th and 95th percentiles", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(traces).WithXAxisStyle<int, int, string>(TitleText: "DCT block (low → high frequency)")
                .WithYAxisStyle<double, double, string>(TitleText: "margin ‖δ_S(x)‖₂ (log)", AxisType: StyleParam.AxisType.Log));
    }
}
