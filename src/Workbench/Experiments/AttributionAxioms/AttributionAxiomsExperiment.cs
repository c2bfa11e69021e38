using System.Diagnostics;
using Microsoft.Data.Analysis;
using Plotly.NET;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Data.Transforms;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Experiments.AttributionAxioms;

/// <summary>
/// Experiment E4 (seed 002, the essay on attribution methods and their axioms): every method of the catalogue on the same
/// digits, the axioms measured, the cost per image, localisation on images with a known object, and the essay's
/// qualitative statements as computed claims.
/// </summary>
public sealed record AttributionAxiomsConfig
{
    public IReadOnlyList<DatasetName> Datasets { get; init; } = new[] { DatasetName.Mnist, DatasetName.FashionMnist };
    public int TrainImages { get; init; } = 60_000;
    public int Epochs { get; init; } = 2;
    /// <summary>Test images per data set shown in the tour grid.</summary>
    public int TourImages { get; init; } = 4;
    /// <summary>Test images on which completeness, cost, class discrimination and sharpness are measured.</summary>
    public int MeasureImages { get; init; } = 32;
    /// <summary>IG's step counts for the completeness-vs-steps curve.</summary>
    public IReadOnlyList<int> IgSteps { get; init; } = new[] { 2, 4, 8, 16, 32, 64, 128, 256 };
    public IReadOnlyList<IntegrationRule> IgRules { get; init; } = new[] { IntegrationRule.RiemannLeft, IntegrationRule.RiemannMiddle, IntegrationRule.RiemannTrapezoid, IntegrationRule.GaussLegendre };
    /// <summary>Samples of LIME and KernelSHAP.</summary>
    public int SurrogateSamples { get; init; } = 500;
    public int RiseMasks { get; init; } = 2_000;
    public int ShapleyPermutations { get; init; } = 25;
    /// <summary>The layer the CAM family reads: the small CNN's second ReLU (14×14), as in E1.</summary>
    public string Layer { get; init; } = "act2";
    public int CanvasSize { get; init; } = 56;
    public double CanvasNoise { get; init; } = 0.3;
    public int CanvasTrainImages { get; init; } = 20_000;
    /// <summary>Test canvases explained (the classifier's accuracy is measured on at least 500).</summary>
    public int CanvasTestImages { get; init; } = 200;
    public int CanvasEpochs { get; init; } = 3;
    /// <summary>Test images of the scorecard (each method explains them ~15 times: randomization stages, robustness samples).</summary>
    public int ScorecardImages { get; init; } = 32;
    /// <summary>Completeness is judged kept when the mean relative error |Σφ − ΔF| / |ΔF| is at most this.</summary>
    public double CompletenessTolerance { get; init; } = 0.05;
    public int Seed { get; init; }

    public static AttributionAxiomsConfig Quick { get; } = new()
    {
        TrainImages = 5_000, Epochs = 2, TourImages = 3, MeasureImages = 8, IgSteps = new[] { 2, 4, 8, 16, 32, 64 }, SurrogateSamples = 200,
        RiseMasks = 500, ShapleyPermutations = 10, CanvasTrainImages = 8_000, CanvasTestImages = 16, CanvasEpochs = 2, ScorecardImages = 6,
    };

    public static AttributionAxiomsConfig Full { get; } = new();

    public MethodSetup Setup(long height, long width) => new(Layer, height, width, Samples: SurrogateSamples, RiseMasks: RiseMasks, Permutations: ShapleyPermutations, Seed: Seed);
}

/// <summary>One method run on a batch: its maps and what it cost.</summary>
public sealed record MethodRun(string Method, Tensor Maps, double MillisecondsPerImage, double ForwardPerImage, double BackwardPerImage) : IDisposable
{
    public void Dispose() => Maps.Dispose();
}

/// <summary>What E4 measures on one data set's classifier (the statements about single methods only on the first data set).</summary>
public sealed record DatasetStudy(string Dataset, double TestAccuracy, GenericChart Tour, DataFrame Completeness, DataFrame Cost,
    DataFrame? ClassDiscrimination = null, DataFrame? Sharpness = null, DataFrame? CounterfactualEvidence = null, DataFrame? RiseAgreement = null,
    DataFrame? IgCompleteness = null);

/// <summary>Localisation on the canvas set: the classifier's accuracy and the localisation metrics per method.</summary>
public sealed record LocalisationStudy(double TestAccuracy, DataFrame Localisation);

public sealed record AttributionAxiomsResult(DataFrame Catalogue, DataFrame Axioms, DataFrame AxiomsLong, DataFrame Completeness, DataFrame IgCompleteness,
    DataFrame Cost, DataFrame ClassDiscrimination, DataFrame Sharpness, DataFrame CounterfactualEvidence, DataFrame Localisation, DataFrame Consistency,
    DataFrame Scorecard, DataFrame Models, DataFrame Claims, IReadOnlyList<GenericChart> Tours, GenericChart IgCompletenessFigure, GenericChart ScorecardFigure, TimeSpan Duration);

public static class AttributionAxiomsExperiment
{
    static readonly ModelSpec Cnn = new("cnn");

    /// <summary>The small CNN on the first <see cref="AttributionAxiomsConfig.TrainImages"/> images (<see cref="Classifier.Train"/>).</summary>
    public static Classifier TrainClassifier(DatasetName dataset, AttributionAxiomsConfig config, ModelCache cache, IProgressSink? progress = null) =>
        Classifier.Train(dataset, config.TrainImages, config.Epochs, new[] { config.MeasureImages, config.TourImages, config.ScorecardImages }.Max(), config.Seed, cache, progress);

    /// <summary>Every method on the same images and targets: the maps and the cost per image (wall time, forward and backward passes).</summary>
    public static IReadOnlyList<MethodRun> Explain(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, IReadOnlyList<TourMethod> methods,
        MethodSetup setup, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(methods);
        var runs = new List<MethodRun>();
        using var task = (progress ?? NullProgress.Instance).Start("explaining", methods.Count);
        long n = images.shape[0];
        foreach (var method in methods)
        {
            var clock = Stopwatch.StartNew();
            using var a = method.Make(model, setup).Attribute(images, Target.PerExample(targets));
            double ms = clock.Elapsed.TotalMilliseconds / n;
            runs.Add(new MethodRun(method.Name, a.Map.detach().clone(), ms, (double)a.ExamplesEvaluated / n, (double)a.BackwardPasses / n));
            task.Report(runs.Count, method.Name);
        }
        return runs;
    }

    /// <summary>The tour figure: the images and every method's map (absolute, one shared scale per method), rows named by class.</summary>
    public static GenericChart Tour(Classifier classifier, IReadOnlyList<MethodRun> runs, int images, DatasetName dataset)
    {
        using var scope = torch.NewDisposeScope();
        var x = classifier.Test.Inputs.narrow(0, 0, images);
        var labels = AttributionFigures.ClassLabels(classifier.Test.Labels.narrow(0, 0, images), classNames: Data.Datasets.ClassNames(dataset));
        return AttributionFigures.Grid(x, runs.Select(r => (r.Method, r.Maps.narrow(0, 0, images))).ToList(), rowLabels: labels,
            title: $"Every method on {classifier.Dataset}");
    }

    /// <summary>Completeness on the classifier: per method the mean of |Σφ − (F(x) − F(0))| / |F(x) − F(0)| for the target logit.</summary>
    public static DataFrame Completeness(Classifier classifier, Tensor targets, IReadOnlyList<MethodRun> runs, double tolerance)
    {
        var gap = LogitGap(classifier.Model, classifier.Test.Inputs.narrow(0, 0, targets.shape[0]), targets);
        var errors = runs.Select(r =>
        {
            using var sum = r.Maps.flatten(1).sum(1).to_type(ScalarType.Float64);
            using var rel = (sum - gap).abs() / gap.abs().clamp_min(1e-12);
            return rel.mean().item<double>();
        }).ToList();
        gap.Dispose();
        return new DataFrame(new StringDataFrameColumn("dataset", runs.Select(_ => classifier.Dataset)), new StringDataFrameColumn("method", runs.Select(r => r.Method)),
            new DoubleDataFrameColumn("relative_completeness_error", errors), new BooleanDataFrameColumn("within_tolerance", errors.Select(e => e <= tolerance)));
    }

    /// <summary>F(x) − F(0) of the target logit, float64 [N].</summary>
    static Tensor LogitGap(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var t = targets.unsqueeze(1);
        var gap = model.call(inputs).gather(1, t) - model.call(torch.zeros_like(inputs)).gather(1, t);
        return gap.squeeze(1).to_type(ScalarType.Float64).MoveToOuterDisposeScope();
    }

    /// <summary>IG's completeness error (mean relative) per integration rule and step count: the error vs steps of the essay.</summary>
    public static DataFrame IgCompleteness(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, IReadOnlyList<int> steps, IReadOnlyList<IntegrationRule> rules)
    {
        using var gap = LogitGap(model, images, targets);
        var rows = new List<(string Rule, int Steps, double Error)>();
        foreach (var rule in rules)
            foreach (var s in steps)
            {
                using var scope = torch.NewDisposeScope();
                using var a = new IntegratedGradients(model, s, rule).Attribute(images, Target.PerExample(targets));
                var rel = (a.Map.flatten(1).sum(1).to_type(ScalarType.Float64) - gap).abs() / gap.abs().clamp_min(1e-12);
                rows.Add((rule.ToString(), s, rel.mean().item<double>()));
            }
        return new DataFrame(new StringDataFrameColumn("rule", rows.Select(r => r.Rule)), new Int32DataFrameColumn("steps", rows.Select(r => r.Steps)),
            new DoubleDataFrameColumn("relative_completeness_error", rows.Select(r => r.Error)));
    }

    public static GenericChart IgCompletenessFigure(DataFrame table)
    {
        var rows = Enumerable.Range(0, (int)table.Rows.Count).Select(i => (Rule: (string)table["rule"][i], Steps: (int)table["steps"][i]!,
            Error: (double)table["relative_completeness_error"][i]!)).ToList();
        var series = rows.GroupBy(r => r.Rule).Select(g => new Series<int>(g.Key, g.Select(r => r.Steps).ToList(), g.Select(r => Math.Max(r.Error, 1e-9)).ToList())).ToList();
        return LineFigures.Lines(series, "integration steps", "mean |Σφ − ΔF| / |ΔF|", "Integrated gradients: completeness error vs steps, per integration rule", logX: true, logY: true);
    }

    /// <summary>
    /// Class discrimination: per method, the Spearman correlation (absolute maps) between the map for the predicted class
    /// and the map for the second most likely class of the same image. A class-discriminative method gives low values.
    /// </summary>
    public static DataFrame ClassDiscrimination(nn.Module<Tensor, Tensor> model, Tensor images, IReadOnlyList<TourMethod> methods, MethodSetup setup)
    {
        Tensor top;
        using (torch.no_grad()) top = model.call(images).topk(2, 1).indexes;
        using var first = top.select(1, 0).contiguous();
        using var second = top.select(1, 1).contiguous();
        top.Dispose();
        var values = methods.Select(m =>
        {
            using var scope = torch.NewDisposeScope();
            var method = m.Make(model, setup);
            using var a = method.Attribute(images, Target.PerExample(first));
            using var b = method.Attribute(images, Target.PerExample(second));
            return SpearmanRankCorrelation.Evaluate(a.Map, b.Map, absolute: true).DefinedMean;
        }).ToList();
        return new DataFrame(new StringDataFrameColumn("method", methods.Select(m => m.Name)),
            new DoubleDataFrameColumn("spearman_top1_vs_top2", values));
    }

    /// <summary>Share of a map's energy above a quarter of the Nyquist radius (|FFT|² outside radius H/4): higher is sharper.</summary>
    public static double HighFrequencyShare(Tensor maps)
    {
        using var scope = torch.NewDisposeScope();
        var m = (maps.dim() == 4 ? maps.abs().sum(1) : maps.abs()).to_type(ScalarType.Float64);
        m = m - m.mean(new long[] { -2, -1 }, keepdim: true); // the mean (frequency 0) says nothing about sharpness
        var high = FourierFilter.HighPass(m, m.shape[^1] / 4.0);
        var total = m.pow(2).sum(new long[] { -2, -1 });
        var share = high.pow(2).sum(new long[] { -2, -1 }) / total.clamp_min(1e-300);
        return share.mean().item<double>();
    }

    public static DataFrame Sharpness(IReadOnlyList<MethodRun> runs) => new(
        new StringDataFrameColumn("method", runs.Select(r => r.Method)),
        new DoubleDataFrameColumn("high_frequency_share", runs.Select(r => HighFrequencyShare(r.Maps))));

    /// <summary>
    /// What a map's most relevant pixels do to the class: set the top <paramref name="fraction"/> of pixels (by the map's
    /// signed value) to 0 and report the mean change of the target logit. Evidence for the class drops it; the
    /// counterfactual map's evidence against the class raises it.
    /// </summary>
    public static double TopPixelRemovalEffect(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, Tensor maps, double fraction = 0.1)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var flat = maps.sum(1).flatten(1);
        int k = Math.Max(1, (int)(fraction * flat.shape[1]));
        var keep = torch.ones_like(flat).scatter(1, flat.topk(k, 1).indexes, torch.zeros_like(flat)).reshape(images.shape[0], 1, images.shape[2], images.shape[3]);
        var t = targets.unsqueeze(1);
        var change = model.call(images * keep).gather(1, t) - model.call(images).gather(1, t);
        return change.mean().to_type(ScalarType.Float64).item<double>();
    }

    /// <summary>The logit change when each method's top 10 % of pixels are removed, and the control: 10 % of pixels at random (seeded).</summary>
    public static DataFrame CounterfactualEvidence(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, IReadOnlyList<MethodRun> runs, int seed = 0)
    {
        using var g = new torch.Generator((ulong)seed);
        using var random = torch.rand(images.shape, generator: g);
        return new DataFrame(
            new StringDataFrameColumn("method", runs.Select(r => r.Method).Append("(random pixels)")),
            new DoubleDataFrameColumn("logit_change_top10pct_removed", runs.Select(r => TopPixelRemovalEffect(model, images, targets, r.Maps))
                .Append(TopPixelRemovalEffect(model, images, targets, random))));
    }

    /// <summary>The localisation set: digits pasted at random places in noisy canvases (<see cref="Generators.DigitCanvas"/>), train and test.</summary>
    public static (ObjectCanvas Train, ObjectCanvas Test) CanvasData(AttributionAxiomsConfig config)
    {
        using var data = Datasets.Load(DatasetName.Mnist);
        using var train = data.Train.Take(config.CanvasTrainImages);
        using var test = data.Test.Take(Math.Max(config.CanvasTestImages, 500));
        return (Generators.DigitCanvas(train, config.CanvasSize, config.CanvasNoise, config.Seed + 31),
            Generators.DigitCanvas(test, config.CanvasSize, config.CanvasNoise, config.Seed + 32));
    }

    public static CachedModel TrainCanvasClassifier(ObjectCanvas train, ObjectCanvas test, AttributionAxiomsConfig config, ModelCache cache, IProgressSink? progress = null)
    {
        var trained = cache.GetOrTrain(Cnn with { ImageSize = config.CanvasSize }, train.Data, test.Data, new TrainOptions { Epochs = config.CanvasEpochs, Seed = config.Seed },
            (progress ?? NullProgress.Instance).Within("canvas"));
        trained.Model.eval();
        return trained;
    }

    /// <summary>Pointing game, relevance mass and relevance rank accuracy (Quantus' localisation metrics) per method against the object's box.</summary>
    public static DataFrame Localisation(IReadOnlyList<MethodRun> runs, Tensor masks) => new(
        new StringDataFrameColumn("method", runs.Select(r => r.Method)),
        new DoubleDataFrameColumn("pointing_game", runs.Select(r => Evaluation.Localisation.PointingGame(r.Maps, masks).DefinedMean)),
        new DoubleDataFrameColumn("relevance_mass", runs.Select(r => Evaluation.Localisation.RelevanceMass(r.Maps, masks).DefinedMean)),
        new DoubleDataFrameColumn("relevance_rank", runs.Select(r => Evaluation.Localisation.RelevanceRank(r.Maps, masks).DefinedMean)),
        new DoubleDataFrameColumn("object_share_of_image", runs.Select(_ => masks.mean().item<float>() * 1.0)));

    /// <summary>The axioms as one row per method: each axiom's measured value and verdict, completeness from the classifiers.</summary>
    public static DataFrame AxiomTable(DataFrame probes, DataFrame completeness, IReadOnlyList<TourMethod> methods)
    {
        string Cell(double v, bool holds) => $"{v:G3} {(holds ? "✓" : "✗")}";
        var columns = new List<DataFrameColumn> { new StringDataFrameColumn("method", methods.Select(m => m.Name)) };
        var completenessCells = methods.Select(m =>
        {
            var rows = Enumerable.Range(0, (int)completeness.Rows.Count).Where(i => (string)completeness["method"][i] == m.Name).ToList();
            if (rows.Count == 0) return "–";
            double worst = rows.Max(i => (double)completeness["relative_completeness_error"][i]!);
            return Cell(worst, rows.All(i => (bool)completeness["within_tolerance"][i]!));
        });
        columns.Add(new StringDataFrameColumn("completeness (rel. error)", completenessCells));
        foreach (var axiom in AxiomProbes.Axioms)
            columns.Add(new StringDataFrameColumn(axiom, methods.Select(m =>
            {
                var i = Enumerable.Range(0, (int)probes.Rows.Count).FirstOrDefault(r => (string)probes["method"][r] == m.Name && (string)probes["axiom"][r] == axiom, -1);
                return i < 0 ? "n/a" : Cell((double)probes["measured"][i]!, (bool)probes["kept"][i]!);
            })));
        columns.Add(new Int32DataFrameColumn("kept", methods.Select(m => AxiomsKept(probes, completeness, m.Name))));
        return new DataFrame(columns);
    }

    /// <summary>How many axioms a method keeps: the five probes, and completeness when <paramref name="completeness"/> is given.</summary>
    public static int AxiomsKept(DataFrame probes, DataFrame? completeness, string method)
    {
        int kept = Enumerable.Range(0, (int)probes.Rows.Count).Count(i => (string)probes["method"][i] == method && (bool)probes["kept"][i]!);
        if (completeness is null) return kept;
        var rows = Enumerable.Range(0, (int)completeness.Rows.Count).Where(i => (string)completeness["method"][i] == method).ToList();
        return kept + (rows.Count > 0 && rows.All(i => (bool)completeness["within_tolerance"][i]!) ? 1 : 0);
    }

    public static DataFrame Cost(string dataset, IReadOnlyList<MethodRun> runs) => new(
        new StringDataFrameColumn("dataset", runs.Select(_ => dataset)),
        new StringDataFrameColumn("method", runs.Select(r => r.Method)),
        new DoubleDataFrameColumn("ms_per_image", runs.Select(r => r.MillisecondsPerImage)),
        new DoubleDataFrameColumn("forward_per_image", runs.Select(r => r.ForwardPerImage)),
        new DoubleDataFrameColumn("backward_per_image", runs.Select(r => r.BackwardPerImage)));

    static double Value(DataFrame table, string method, string column, string? dataset = null)
    {
        for (int i = 0; i < table.Rows.Count; i++)
            if ((string)table["method"][i] == method && (dataset is null || (string)table["dataset"][i] == dataset)) return Convert.ToDouble(table[column][i]);
        throw new ArgumentException($"no row for method '{method}' in the table.", nameof(method));
    }

    /// <summary>The essay's statements as claims, computed from the tables (first data set for the per-data-set ones).</summary>
    public static IReadOnlyList<Claim> Claims(DataFrame discrimination, DataFrame sharpness, DataFrame cost, DataFrame riseVsOcclusion, DataFrame counterfactual,
        DataFrame completeness, AttributionAxiomsConfig config)
    {
        double gc = Value(discrimination, "GradCam", "spearman_top1_vs_top2"), gb = Value(discrimination, "GuidedBackprop", "spearman_top1_vs_top2");
        double hfGc = Value(sharpness, "GradCam", "high_frequency_share"), hfGgc = Value(sharpness, "GuidedGradCam", "high_frequency_share");
        double riseBackward = Value(cost, "RISE", "backward_per_image");
        double riseOcc = (double)riseVsOcclusion["spearman_rise_occlusion"][0]!, riseGrad = (double)riseVsOcclusion["spearman_rise_gradient"][0]!;
        double cf = Value(counterfactual, "CounterfactualGradCam", "logit_change_top10pct_removed"), gcChange = Value(counterfactual, "GradCam", "logit_change_top10pct_removed");
        double random = Value(counterfactual, "(random pixels)", "logit_change_top10pct_removed");
        var datasets = Enumerable.Range(0, (int)completeness.Rows.Count).Select(i => (string)completeness["dataset"][i]).Distinct().ToList();
        double ig = datasets.Max(d => Value(completeness, "IntegratedGradients", "relative_completeness_error", d));
        double ixg = datasets.Min(d => Value(completeness, "InputXGradient", "relative_completeness_error", d));
        return new[]
        {
            new Claim("Grad-CAM is class-discriminative, guided backprop is not: Grad-CAM's maps for the top-1 and top-2 classes agree less (Spearman) than guided backprop's",
                $"Grad-CAM ρ = {gc:F2}; guided backprop ρ = {gb:F2}", "Selvaraju et al.: Grad-CAM localises the class; guided backprop does not", gc < gb),
            new Claim("Guided Grad-CAM is sharper than Grad-CAM (more energy above a quarter of the Nyquist radius)",
                $"high-frequency share: guided Grad-CAM {hfGgc:F3}, Grad-CAM {hfGc:F3}", "high-resolution and class-discriminative", hfGgc > hfGc),
            new Claim("RISE needs no gradients and agrees with occlusion (Spearman with occlusion > with the gradient)",
                $"RISE backward passes/image = {riseBackward:G3}; ρ(RISE, occlusion) = {riseOcc:F2}, ρ(RISE, gradient) = {riseGrad:F2}",
                "Petsiuk et al.: black-box, comparable to occlusion", riseBackward == 0 && riseOcc > riseGrad),
            new Claim("Counterfactual Grad-CAM highlights evidence against the class: removing its top 10 % of pixels raises the class logit; removing Grad-CAM's lowers it",
                $"logit change: counterfactual {cf:+0.00;-0.00}, Grad-CAM {gcChange:+0.00;-0.00}, random 10 % {random:+0.00;-0.00}", "Selvaraju et al., §5 (counterfactual explanations)", cf > 0 && gcChange < 0),
            new Claim($"IG satisfies completeness (relative error ≤ {config.CompletenessTolerance:P0}) where gradient × input does not",
                $"IG worst {ig:P2}; gradient × input best {ixg:P1}", "Sundararajan et al., Prop. 1", ig <= config.CompletenessTolerance && ixg > config.CompletenessTolerance),
        };
    }

    /// <summary>Spearman (absolute maps) of RISE against occlusion and against the gradient, on the same images.</summary>
    public static DataFrame RiseAgreement(IReadOnlyList<MethodRun> runs)
    {
        Tensor Maps(string name) => runs.First(r => r.Method == name).Maps;
        return new DataFrame(
            new DoubleDataFrameColumn("spearman_rise_occlusion", new[] { SpearmanRankCorrelation.Evaluate(Maps("RISE"), Maps("Occlusion"), absolute: true).DefinedMean }),
            new DoubleDataFrameColumn("spearman_rise_gradient", new[] { SpearmanRankCorrelation.Evaluate(Maps("RISE"), Maps("Gradient"), absolute: true).DefinedMean }));
    }

    /// <summary>
    /// One data set: the classifier, every method on the first <see cref="AttributionAxiomsConfig.MeasureImages"/> test
    /// images (tour, completeness, cost) and, with <paramref name="detailed"/>, the statements about single methods
    /// (class discrimination, sharpness, counterfactual evidence, RISE vs occlusion, IG's completeness vs steps).
    /// </summary>
    public static DatasetStudy StudyDataset(DatasetName dataset, AttributionAxiomsConfig config, ModelCache cache, bool detailed, IProgressSink? progress = null)
    {
        using var classifier = TrainClassifier(dataset, config, cache, progress);
        using var images = classifier.Test.Inputs.narrow(0, 0, config.MeasureImages);
        using var targets = classifier.Test.Labels.narrow(0, 0, config.MeasureImages);
        var setup = config.Setup(28, 28);
        var runs = Explain(classifier.Model, images, targets, AttributionTour.Methods, setup, (progress ?? NullProgress.Instance).Within(classifier.Dataset));
        try
        {
            var study = new DatasetStudy(classifier.Dataset, classifier.TestAccuracy, Tour(classifier, runs, config.TourImages, dataset),
                Completeness(classifier, targets, runs, config.CompletenessTolerance), Cost(classifier.Dataset, runs));
            return !detailed ? study : study with
            {
                ClassDiscrimination = ClassDiscrimination(classifier.Model, images, AttributionTour.Select("GradCam", "GuidedBackprop", "GuidedGradCam", "Gradient"), setup),
                Sharpness = Sharpness(runs),
                CounterfactualEvidence = CounterfactualEvidence(classifier.Model, images, targets, runs, config.Seed),
                RiseAgreement = RiseAgreement(runs),
                IgCompleteness = IgCompleteness(classifier.Model, images, targets, config.IgSteps, config.IgRules),
            };
        }
        finally { foreach (var r in runs) r.Dispose(); }
    }

    /// <summary>Localisation: the canvas set, its classifier, every method on the test canvases against the object's box.</summary>
    public static LocalisationStudy StudyLocalisation(AttributionAxiomsConfig config, ModelCache cache, IProgressSink? progress = null)
    {
        var (train, test) = CanvasData(config);
        using (train) using (test)
        {
            var trained = TrainCanvasClassifier(train, test, config, cache, progress);
            using var model = trained.Model;
            using var images = test.Data.Inputs.narrow(0, 0, config.CanvasTestImages);
            using var labels = test.Data.Labels.narrow(0, 0, config.CanvasTestImages);
            using var masks = test.Masks.narrow(0, 0, config.CanvasTestImages);
            var runs = Explain(model, images, labels, AttributionTour.Methods, config.Setup(config.CanvasSize, config.CanvasSize),
                (progress ?? NullProgress.Instance).Within("canvas"));
            try { return new LocalisationStudy(trained.Result.TestAccuracy, Localisation(runs, masks)); }
            finally { foreach (var r in runs) r.Dispose(); }
        }
    }

    /// <summary>
    /// Consistency across training sets (E1's measure): two CNNs trained on the two disjoint halves of the first
    /// <see cref="AttributionAxiomsConfig.TrainImages"/> images of <paramref name="dataset"/>; per method the Spearman
    /// correlation of their absolute maps on the measured test images.
    /// </summary>
    public static DataFrame Consistency(DatasetName dataset, AttributionAxiomsConfig config, ModelCache cache, IProgressSink? progress = null)
    {
        using var data = Datasets.Load(dataset, progress: progress);
        using var train = data.Train.Take(config.TrainImages);
        using var test = data.Test.Take(config.MeasureImages);
        using var accuracyTest = data.Test.Take(2_000);
        var halves = train.SplitDisjoint(2, config.Seed);
        try
        {
            var nets = halves.Select((half, i) => cache.GetOrTrain(Cnn, half, accuracyTest, new TrainOptions { Epochs = config.Epochs, Seed = config.Seed + i },
                (progress ?? NullProgress.Instance).Within($"{Data.Datasets.CliName(dataset)} half {i + 1}")).Model).ToList();
            try
            {
                foreach (var n in nets) n.eval();
                var setup = config.Setup(28, 28);
                var a = Explain(nets[0], test.Inputs, test.Labels, AttributionTour.Methods, setup);
                var b = Explain(nets[1], test.Inputs, test.Labels, AttributionTour.Methods, setup);
                try
                {
                    return new DataFrame(new StringDataFrameColumn("method", a.Select(r => r.Method)),
                        new DoubleDataFrameColumn("spearman_between_halves", a.Zip(b, (x, y) => SpearmanRankCorrelation.Evaluate(x.Maps, y.Maps, absolute: true).DefinedMean)));
                }
                finally { foreach (var r in a.Concat(b)) r.Dispose(); }
            }
            finally { foreach (var n in nets) n.Dispose(); }
        }
        finally { foreach (var h in halves) h.Dispose(); }
    }

    /// <summary>
    /// The scorecard of every tour method on <paramref name="model"/>: the criteria <see cref="AttributionScorecard"/> measures
    /// (faithfulness, randomization, complexity, robustness, cost) plus the axioms kept, the pointing game on the canvas set
    /// and the consistency across training sets measured by the other steps.
    /// </summary>
    public static DataFrame Scorecard(nn.Module<Tensor, Tensor> model, Tensor images, Tensor targets, AttributionAxiomsConfig config, DataFrame axiomsLong,
        DataFrame completeness, DataFrame localisation, DataFrame consistency, IProgressSink? progress = null)
    {
        var methods = AttributionTour.Methods;
        var setup = config.Setup(images.shape[^2], images.shape[^1]);
        Dictionary<string, double> Column(DataFrame t, string column) =>
            Enumerable.Range(0, (int)t.Rows.Count).ToDictionary(i => (string)t["method"][i], i => Convert.ToDouble(t[column][i]));
        var extra = new[]
        {
            new ScorecardCriterion("axioms_kept", Preferred.Higher, methods.ToDictionary(m => m.Name, m => (double)AxiomsKept(axiomsLong, completeness, m.Name))),
            new ScorecardCriterion("pointing_game", Preferred.Higher, Column(localisation, "pointing_game")),
            new ScorecardCriterion("consistency", Preferred.Higher, Column(consistency, "spearman_between_halves")),
        };
        return AttributionScorecard.Build(model, images, targets, methods.Select(m => (m.Name, m.Make(model, setup))).ToList(), extra, config.Seed, progress);
    }

    /// <summary>The whole protocol; the notebook runs the same steps one by one.</summary>
    public static AttributionAxiomsResult Run(AttributionAxiomsConfig config, ModelCache? cache = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        cache ??= new ModelCache();
        var clock = Stopwatch.StartNew();
        var studies = config.Datasets.Select((d, i) => StudyDataset(d, config, cache, detailed: i == 0, progress)).ToList();
        var localisation = StudyLocalisation(config, cache, progress);
        var consistency = Consistency(config.Datasets[0], config, cache, progress);
        var probes = AxiomProbes.Table(AttributionTour.Methods, config.Seed);
        var completeness = Combine(studies.Select(s => s.Completeness));
        DataFrame scorecard;
        using (var classifier = TrainClassifier(config.Datasets[0], config, cache, progress))
        using (var images = classifier.Test.Inputs.narrow(0, 0, config.ScorecardImages))
        using (var targets = classifier.Test.Labels.narrow(0, 0, config.ScorecardImages))
            scorecard = Scorecard(classifier.Model, images, targets, config, probes, completeness, localisation.Localisation, consistency, progress);
        return Assemble(studies, localisation, consistency, probes, scorecard, config, clock.Elapsed);
    }

    /// <summary>The result record from the steps' outputs (the first study must be detailed).</summary>
    public static AttributionAxiomsResult Assemble(IReadOnlyList<DatasetStudy> studies, LocalisationStudy localisation, DataFrame consistency, DataFrame probes,
        DataFrame scorecard, AttributionAxiomsConfig config, TimeSpan duration)
    {
        var first = studies[0];
        if (first.ClassDiscrimination is null) throw new ArgumentException("the first data set's study must be detailed (StudyDataset(..., detailed: true)).", nameof(studies));
        var completeness = Combine(studies.Select(s => s.Completeness));
        var cost = Combine(studies.Select(s => s.Cost));
        var claims = Claims(first.ClassDiscrimination, first.Sharpness!, cost, first.RiseAgreement!, first.CounterfactualEvidence!, completeness, config);
        var models = new DataFrame(new StringDataFrameColumn("model", studies.Select(s => s.Dataset).Append("mnist canvas")),
            new DoubleDataFrameColumn("test_accuracy", studies.Select(s => s.TestAccuracy).Append(localisation.TestAccuracy)));
        return new AttributionAxiomsResult(AttributionTour.Catalogue(), AxiomTable(probes, completeness, AttributionTour.Methods), probes, completeness,
            first.IgCompleteness!, cost, first.ClassDiscrimination, first.Sharpness!, first.CounterfactualEvidence!, localisation.Localisation, consistency,
            scorecard, models, ClaimsTable.ToDataFrame(claims), studies.Select(s => s.Tour).ToList(), IgCompletenessFigure(first.IgCompleteness!),
            AttributionScorecard.Figure(scorecard), duration);
    }

    static DataFrame Combine(IEnumerable<DataFrame> tables) => tables.Aggregate((a, b) => a.Append(b.Rows, inPlace: false));
}
