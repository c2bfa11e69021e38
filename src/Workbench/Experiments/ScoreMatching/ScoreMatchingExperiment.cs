using Microsoft.Data.Analysis;
using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Data;
using Workbench.Evaluation;
using Workbench.Generative;
using Workbench.Models;
using Workbench.Regularization;
using Workbench.Runtime;
using Workbench.Sweeps;
using Workbench.Training;
using Workbench.Visualization;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.ScoreMatching;

/// <summary>
/// Experiment E3 (seed 001, Srinivas &amp; Fleuret, ICLR 2021): a Softplus(β = 10) CNN trained plainly,
/// with score matching, anti-score matching and gradient-norm regularization; generative quality
/// (GAN-test of logit-ascent samples, judged by a competent CNN of another architecture), the density-ratio
/// test and the pixel-perturbation test. σ, τ and thresholds are the authors' code; the claims are judged at
/// the λ where regularization acts (the paper's 1e-4 and 1e-3; the code's 1e-5 is within noise of the baseline),
/// over several seeds.
/// </summary>
public sealed record ScoreMatchingConfig
{
    public IReadOnlyList<DatasetName> Datasets { get; init; } = new[] { DatasetName.FashionMnist, DatasetName.Mnist };
    /// <summary>λ of every regularizer; each claim is judged at each of them (code: 1e-5; the paper's text: 1e-3 and 1e-4).</summary>
    public IReadOnlyList<double> Lambdas { get; init; } = new[] { 1e-4, 1e-3 };
    /// <summary>Independent training seeds per model (Seed, Seed + 1, …); the tables give mean ± half-range.</summary>
    public int Seeds { get; init; } = 2;
    public int TrainImages { get; init; } = 60_000;
    /// <summary>
    /// The classifiers' training: the authors' optimiser family (SGD, momentum 0.9, weight decay 5e-4, batch 128; the code runs
    /// 200 CIFAR-100 epochs at 0.1 with a step schedule), here 10 epochs with cosine decay from 0.02. The code's rate of 0.1
    /// collapses anti-score matching at λ = 1e-3 on this CNN to a constant prediction (measured on 5,000 Fashion-MNIST images,
    /// 160 steps: test accuracy 10.1 %, training loss 2.323 = ln 10; at 0.02: 70.2 %, the baseline 75.9 %).
    /// </summary>
    public TrainOptions Training { get; init; } = new()
    {
        Epochs = 10, BatchSize = 128, Optimizer = OptimizerKind.Sgd, LearningRate = 0.02, Momentum = 0.9, WeightDecay = 5e-4, Schedule = LrScheduleKind.Cosine,
    };
    public ScoreMatchingPenalty ScoreMatching { get; init; } = new();
    public AntiScoreMatchingPenalty AntiScoreMatching { get; init; } = new();
    /// <summary>The GAN-test judge: a ReLU ResNet with BatchNorm (another architecture than the Softplus CNN it judges).</summary>
    public ModelSpec Judge { get; init; } = new("resnet");
    /// <summary>
    /// The judge's training images, the first of the training set: all 60,000 by default, since the judge stands for a classifier
    /// of real data (Shmelkov et al.'s GAN-test), not for the classifiers under test. On Fashion-MNIST, 4 epochs on 60,000 images
    /// reach 90.8 % on the real test set (99.0 % on MNIST; the full sweep of 2026-12-02 at one torch thread); 3 epochs on the classifiers' 20,000 reached 87.3 %, below <see cref="JudgeMinimumAccuracy"/>.
    /// </summary>
    public int JudgeTrainImages { get; init; } = 60_000;
    public TrainOptions JudgeTraining { get; init; } = new() { Epochs = 4, BatchSize = 64, Seed = 500 };
    /// <summary>Below this accuracy on real test images the judge is not competent and the GAN-test claim is not judged.</summary>
    public double JudgeMinimumAccuracy { get; init; } = 0.90;
    public int GanTestSamples { get; init; } = 1000;
    public SamplerOptions Sampler { get; init; } = new();
    public IReadOnlyList<double> NoiseLevels { get; init; } = new[] { 0.01, 0.02, 0.05, 0.1, 0.2, 0.3 };
    public int EvaluationImages { get; init; } = 1000;
    /// <summary>The pixel-perturbation fill: the data's background (its most frequent pixel value, 0 on MNIST and
    /// Fashion-MNIST) by default; the code's 0.5 (near CIFAR's mean, off-manifold on black backgrounds) is the variant.</summary>
    public double? PerturbationFill { get; init; }
    public int Seed { get; init; }

    /// <summary>Under 3 min on 2 cores: Fashion-MNIST only, 5,000 training images, 2 epochs, λ = 1e-3, one seed, a judge trained
    /// 1 epoch on the same images (not competent: the GAN-test row says so), 60 samples of 60 ascent steps, 200 evaluation images.</summary>
    public static ScoreMatchingConfig Quick { get; } = new()
    {
        Datasets = new[] { DatasetName.FashionMnist },
        Lambdas = new[] { 1e-3 }, Seeds = 1, TrainImages = 5_000, Training = new ScoreMatchingConfig().Training with { Epochs = 2 },
        JudgeTrainImages = 5_000, JudgeTraining = new ScoreMatchingConfig().JudgeTraining with { Epochs = 1 },
        GanTestSamples = 60, Sampler = new SamplerOptions { Steps = 60 }, EvaluationImages = 200,
    };

    /// <summary>
    /// The one-hour preset on 2 CPU cores, per dataset (run it once with Datasets = [FashionMnist], once with [Mnist]):
    /// 20,000 training images, 5 epochs, λ ∈ {1e-4, 1e-3}, 2 seeds (14 models), the judge on all 60,000 for 4 epochs, 300 GAN-test
    /// samples of 500 steps, 500 evaluation images. The whole protocol (<c>new ScoreMatchingConfig()</c>) takes several hours.
    /// </summary>
    public static ScoreMatchingConfig Full { get; } = new()
    {
        Datasets = new[] { DatasetName.FashionMnist }, TrainImages = 20_000, Training = new ScoreMatchingConfig().Training with { Epochs = 5 },
        GanTestSamples = 300, EvaluationImages = 500,
    };
}

/// <summary>One model's GAN-test: the share of its samples the judge assigns to their target class, beside the judge's accuracy on real test images.</summary>
public sealed record GanTestResult(double Accuracy, double JudgeRealAccuracy, bool JudgeCompetent);

/// <summary>A model's pixel-perturbation curves: least-salient-first with the background fill (the test), with fill 0.5 (the code's
/// constant), in random order (the control: what the ranking adds) and most-salient-first.</summary>
public sealed record PerturbationCurves(PerturbationCurve LeastFirst, PerturbationCurve LeastFirstHalfFill, PerturbationCurve RandomOrder, PerturbationCurve MostFirst);

public sealed record ScoreMatchingResult(DataFrame Models, DataFrame Summary, DataFrame DensityRatios, DataFrame PixelPerturbation, DataFrame Claims,
    GenericChart PixelPerturbationCurves, GenericChart DensityRatioChart, GenericChart Samples, GenericChart GradientMaps, TimeSpan Duration);

/// <summary>One independent unit of E3: the classifier of one dataset, seed offset, λ (0 for the baseline) and variant, and its measurements.</summary>
public sealed record ScoreMatchingUnit(DatasetName Dataset, int SeedOffset, double Lambda, string Variant)
{
    public override string ToString() => $"{Workbench.Data.Datasets.CliName(Dataset)} {Variant}{(Lambda > 0 ? $" λ={Lambda:G2}" : "")} seed+{SeedOffset}";
}

/// <summary>One model's measurements (one row of the models table).</summary>
public sealed record ScoreMatchingModelResult(string Dataset, string Regularizer, double Lambda, int SeedOffset, long Steps, double Accuracy, GanTestResult GanTest,
    PerturbationCurves Curves, double[] Ratios);

/// <summary>What the figures need of a shown model, as arrays: one logit-ascent sample per class, four evaluation images, their labels and gradient maps.</summary>
public sealed record ScoreMatchingFigureData(StoredTensor Samples, StoredTensor Inputs, long[] Labels, StoredTensor GradientMaps);

/// <summary>What one unit produced: the model's measurements and, for the models the figures show, their figure data.</summary>
public sealed record ScoreMatchingUnitResult(ScoreMatchingModelResult Model, ScoreMatchingFigureData? Figures);

/// <summary>One dataset's shared inputs of E3: the data, the training subset, the evaluation images, the perturbation fill and the GAN-test judge.</summary>
public sealed record ScoreMatchingDatasetInputs(DatasetSplit Split, TensorDataset Train, TensorDataset Evaluation, double Fill, nn.Module<Tensor, Tensor> Judge, double JudgeAccuracy);

/// <summary>E3's per-dataset inputs, each made once on first use (the judge trained or read from the model cache) and disposed with this object.</summary>
public sealed class ScoreMatchingInputs(ScoreMatchingConfig config, IProgressSink? progress = null, ModelCache? cache = null) : IDisposable
{
    readonly LoadedDatasets _datasets = new(progress);
    readonly Dictionary<DatasetName, ScoreMatchingDatasetInputs> _made = new();

    public ScoreMatchingDatasetInputs For(DatasetName dataset)
    {
        if (_made.TryGetValue(dataset, out var made)) return made;
        var split = _datasets.Get(dataset);
        var train = split.Train.Take(config.TrainImages);
        var evaluation = split.Test.Take(config.EvaluationImages);
        double fill = config.PerturbationFill ?? PixelPerturbation.BackgroundFill(train.Inputs);
        var (judge, accuracy) = ScoreMatchingExperiment.TrainJudge(config, split.Train, split.Test, progress, cache);
        return _made[dataset] = new ScoreMatchingDatasetInputs(split, train, evaluation, fill, judge, accuracy);
    }

    public void Dispose()
    {
        foreach (var m in _made.Values) { m.Train.Dispose(); m.Evaluation.Dispose(); m.Judge.Dispose(); }
        _made.Clear();
        _datasets.Dispose();
    }
}

public static class ScoreMatchingExperiment
{
    /// <summary>The seed's CIFAR-100 GAN-test numbers (%), for the table.</summary>
    public static readonly IReadOnlyDictionary<string, double> SeedGanTest = new Dictionary<string, double>
    {
        ["baseline"] = 59.47, ["anti-score-matching"] = 16.40, ["gradient-norm"] = 80.07, ["score-matching"] = 72.75,
    };

    /// <summary>The classifier every variant trains: the small CNN with Softplus(β = 10), whose Hessian is not zero almost everywhere.</summary>
    public static ModelSpec Classifier { get; } = new("cnn", Activation: ActivationKind.Softplus, SoftplusBeta: 10);

    /// <summary>The four variants at one λ, by name: no penalty (the baseline), score matching, anti-score matching, gradient norm.</summary>
    public static IReadOnlyList<(string Name, IPenalty? Penalty)> Variants(ScoreMatchingConfig config) => new (string, IPenalty?)[]
    {
        ("baseline", null), ("score-matching", config.ScoreMatching), ("anti-score-matching", config.AntiScoreMatching), ("gradient-norm", new GradientNormPenalty()),
    };

    /// <summary>The training options of one variant and seed offset (no penalty: the baseline), as <see cref="Run"/> uses them: the model cache key.</summary>
    public static TrainOptions TrainOptionsFor(ScoreMatchingConfig config, IPenalty? penalty, double lambda, int seedOffset = 0) =>
        config.Training with { Seed = config.Seed + seedOffset, Penalty = penalty, PenaltyWeight = penalty is null ? 1 : lambda };

    /// <summary>Step 1: the GAN-test judge, trained (or read from the cache) on the first <see cref="ScoreMatchingConfig.JudgeTrainImages"/>
    /// of the training set, and its accuracy on real test images.</summary>
    public static (nn.Module<Tensor, Tensor> Judge, double RealAccuracy) TrainJudge(ScoreMatchingConfig config, TensorDataset trainingSet, TensorDataset test,
        IProgressSink? progress = null, ModelCache? cache = null)
    {
        if (config.JudgeTrainImages < 1)
            throw new ArgumentOutOfRangeException(nameof(config), config.JudgeTrainImages, "config.JudgeTrainImages must be at least 1.");
        using var judgeTrain = trainingSet.Take(config.JudgeTrainImages);
        var judge = (cache ?? new ModelCache()).GetOrTrain(config.Judge, judgeTrain, test, config.JudgeTraining with { Seed = config.JudgeTraining.Seed + config.Seed },
            (progress ?? NullProgress.Instance).Within("GAN-test judge"));
        return (judge.Model, judge.Result.TestAccuracy);
    }

    /// <summary>Step 2: GAN-test — samples by logit ascent for targets following the test labels, judged by the proxy classifier.</summary>
    public static GanTestResult GanTest(nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor> judge, double judgeRealAccuracy, Tensor testLabels,
        ScoreMatchingConfig config, IProgressSink? progress = null)
    {
        using var targets = testLabels.narrow(0, 0, Math.Min(config.GanTestSamples, testLabels.shape[0])).clone();
        using var generated = LogitAscentSampler.Sample(model, targets, new long[] { 1, 28, 28 }, config.Sampler with { Seed = config.Seed }, progress);
        using var generatedSet = new TensorDataset(generated.clone(), targets.clone(), "samples");
        return new GanTestResult(Trainer.Evaluate(judge, generatedSet).Accuracy, judgeRealAccuracy, judgeRealAccuracy >= config.JudgeMinimumAccuracy);
    }

    /// <summary>Step 3: the pixel-perturbation curves of one model with |logit gradient| saliency (see <see cref="PerturbationCurves"/>).</summary>
    public static PerturbationCurves PixelPerturbationOf(nn.Module<Tensor, Tensor> model, TensorDataset images, double fill, int seed)
    {
        using var scope = torch.NewDisposeScope();
        var saliency = new Saliency(model).Attribute(images.Inputs, Target.PerExample(images.Labels)).Map;
        var random = torch.rand(saliency.shape, generator: new torch.Generator((ulong)seed));
        return new PerturbationCurves(
            PixelPerturbation.Evaluate(model, images.Inputs, images.Labels, saliency, fill: fill),
            PixelPerturbation.Evaluate(model, images.Inputs, images.Labels, saliency, fill: 0.5),
            PixelPerturbation.Evaluate(model, images.Inputs, images.Labels, random, fill: fill),
            PixelPerturbation.Evaluate(model, images.Inputs, images.Labels, saliency, fill: fill, removeLeastSalient: false));
    }

    /// <summary>One model's four pixel-perturbation curves in one figure (fraction removed on a log axis).</summary>
    public static GenericChart PerturbationFigure(PerturbationCurves curves, double fill, string title)
    {
        GenericChart Line(PerturbationCurve c, string name, StyleParam.DrawingStyle dash) =>
            CSharpChart.Line<double, double, string>(x: c.Fractions, y: c.Accuracy, Name: $"{name} (AUC {c.Auc:F3})", LineDash: dash);
        return Plotly.NET.Chart.withTitle(title, Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(new[]
            {
                Line(curves.LeastFirst, $"least salient first, fill {fill:G3}", StyleParam.DrawingStyle.Solid),
                Line(curves.RandomOrder, "random order (control)", StyleParam.DrawingStyle.Dash),
                Line(curves.MostFirst, "most salient first", StyleParam.DrawingStyle.Dot),
                Line(curves.LeastFirstHalfFill, "least salient first, fill 0.5 (the code's)", StyleParam.DrawingStyle.DashDot),
            })
            .WithXAxisStyle<double, double, string>(TitleText: "fraction of pixels removed (log)", AxisType: StyleParam.AxisType.Log)
            .WithYAxisStyle<double, double, string>(TitleText: "accuracy"));
    }

    /// <summary>The whole protocol in one process: every unit of <see cref="Units"/> in order (<see cref="RunUnit"/>), then <see cref="Assemble"/>.
    /// A sweep runs the same units on several machines and assembles the same way.</summary>
    public static ScoreMatchingResult Run(ScoreMatchingConfig config, IProgressSink? progress = null, ModelCache? cache = null)
    {
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var units = Units(config);
        using var inputs = new ScoreMatchingInputs(config, progress, cache);
        var results = units.Select(u => RunUnit(config, u, inputs, progress, cache)).ToList();
        return Assemble(config, results, clock.Elapsed);
    }

    /// <summary>The independent units (one model: dataset, seed, λ, variant), in the order <see cref="Run"/> takes them (that order fixes the tables' row order).</summary>
    public static IReadOnlyList<ScoreMatchingUnit> Units(ScoreMatchingConfig config)
    {
        if (config.Lambdas.Count == 0) throw new ArgumentException("config.Lambdas is empty; give at least one λ.", nameof(config));
        if (config.Seeds < 1) throw new ArgumentOutOfRangeException(nameof(config), config.Seeds, $"config.Seeds must be >= 1; got {config.Seeds}.");
        var units = new List<ScoreMatchingUnit>();
        foreach (var dataset in config.Datasets)
            for (int s = 0; s < config.Seeds; s++)
                foreach (var lambda in new[] { 0.0 }.Concat(config.Lambdas))
                    foreach (var (variant, penalty) in Variants(config).Where(v => (v.Penalty is null) == (lambda == 0)))
                        units.Add(new ScoreMatchingUnit(dataset, s, lambda, variant));
        return units;
    }

    /// <summary>
    /// Runs one unit: trains (or reads from the cache) its classifier and measures it (GAN-test against the dataset's judge, pixel
    /// perturbation, density ratios). The units the figures show (first dataset, first seed, no λ or the largest) also keep their
    /// samples and gradient maps.
    /// </summary>
    public static ScoreMatchingUnitResult RunUnit(ScoreMatchingConfig config, ScoreMatchingUnit unit, ScoreMatchingInputs inputs, IProgressSink? progress = null, ModelCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(unit);
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var penalty = Variants(config).Where(v => v.Name == unit.Variant).Select(v => (IPenalty?)v.Penalty).DefaultIfEmpty(null).First();
        if (!Variants(config).Any(v => v.Name == unit.Variant))
            throw new ArgumentException($"unit.Variant must be one of {string.Join(", ", Variants(config).Select(v => v.Name))}; got '{unit.Variant}'.", nameof(unit));
        var d = inputs.For(unit.Dataset);
        string name = Workbench.Data.Datasets.CliName(unit.Dataset);
        var (s, lambda, variant) = (unit.SeedOffset, unit.Lambda, unit.Variant);
        var trained = cache.GetOrTrain(Classifier, d.Train, d.Split.Test, TrainOptionsFor(config, penalty, lambda, s),
            progress.Within($"{name} {variant}{(lambda > 0 ? $" λ={lambda:G2}" : "")} seed {config.Seed + s}"));
        using var model = trained.Model;
        model.eval();
        var ganTest = GanTest(model, d.Judge, d.JudgeAccuracy, d.Split.Test.Labels, config, progress);
        var curves = PixelPerturbationOf(model, d.Evaluation, d.Fill, config.Seed + s);
        var ratios = ModelMetrics.DensityRatio(model, d.Evaluation.Inputs, d.Evaluation.Labels, config.NoiseLevels.ToArray(), config.Seed);
        var measured = new ScoreMatchingModelResult(name, variant, lambda, s, trained.Result.Steps, trained.Result.TestAccuracy, ganTest, curves,
            ((DoubleDataFrameColumn)ratios["log_ratio_mean"]).Select(v => v ?? double.NaN).ToArray());
        // Figures from the first dataset and seed at the strongest λ: one sample per class and model, gradient maps side by side.
        bool shown = unit.Dataset == config.Datasets[0] && s == 0 && (lambda == 0 || lambda == config.Lambdas.Max());
        if (!shown) return new ScoreMatchingUnitResult(measured, null);
        using var scope = torch.NewDisposeScope();
        using var classes = torch.arange(10, dtype: ScalarType.Int64);
        var x = d.Evaluation.Inputs[..4];
        var labels = d.Evaluation.Labels[..4];
        var samples = LogitAscentSampler.Sample(model, classes, new long[] { 1, 28, 28 }, config.Sampler with { Seed = config.Seed });
        var maps = new Saliency(model).Attribute(x, Target.PerExample(labels)).Map;
        return new ScoreMatchingUnitResult(measured, new ScoreMatchingFigureData(StoredTensor.Of(samples), StoredTensor.Of(x), labels.data<long>().ToArray(), StoredTensor.Of(maps)));
    }

    /// <summary>The experiment's tables, figures and claims from the results of its units, given in the order of <see cref="Units"/>.</summary>
    public static ScoreMatchingResult Assemble(ScoreMatchingConfig config, IReadOnlyList<ScoreMatchingUnitResult> results, TimeSpan duration)
    {
        var all = results.Select(r => r.Model).ToList();
        if (all.Count == 0) throw new ArgumentException("results is empty; expected one per unit of the config.", nameof(results));
        var shown = results.Where(r => r.Figures is not null).Select(r => (r.Model.Regularizer, r.Figures!)).ToList();
        GenericChart? samples = null, maps = null;
        if (shown.Count > 0)
        {
            samples = SampleGrid(shown, config, config.Datasets[0]);
            maps = GradientMapGrid(shown, config.Datasets[0]);
        }
        var models = new DataFrame(
            new StringDataFrameColumn("dataset", all.Select(t => t.Dataset)),
            new StringDataFrameColumn("model", all.Select(t => t.Regularizer)),
            new DoubleDataFrameColumn("lambda", all.Select(t => t.Lambda)),
            new Int32DataFrameColumn("seed", all.Select(t => config.Seed + t.SeedOffset)),
            new Int64DataFrameColumn("steps", all.Select(t => t.Steps)),
            new DoubleDataFrameColumn("test_accuracy", all.Select(t => t.Accuracy)),
            new DoubleDataFrameColumn("gan_test_percent", all.Select(t => 100 * t.GanTest.Accuracy)),
            new DoubleDataFrameColumn("judge_real_accuracy", all.Select(t => t.GanTest.JudgeRealAccuracy)),
            new DoubleDataFrameColumn("seed_cifar100_gan_test", all.Select(t => SeedGanTest[t.Regularizer])),
            new DoubleDataFrameColumn("auc_least_first", all.Select(t => t.Curves.LeastFirst.Auc)),
            new DoubleDataFrameColumn("auc_least_first_fill_0.5", all.Select(t => t.Curves.LeastFirstHalfFill.Auc)),
            new DoubleDataFrameColumn("auc_random_order", all.Select(t => t.Curves.RandomOrder.Auc)),
            new DoubleDataFrameColumn("auc_most_first", all.Select(t => t.Curves.MostFirst.Auc)));
        var ratioFrame = new DataFrame(new DataFrameColumn[]
        {
            new StringDataFrameColumn("dataset", all.Select(t => t.Dataset)),
            new StringDataFrameColumn("model", all.Select(t => t.Regularizer)),
            new DoubleDataFrameColumn("lambda", all.Select(t => t.Lambda)),
            new Int32DataFrameColumn("seed", all.Select(t => config.Seed + t.SeedOffset)),
        }.Concat(config.NoiseLevels.Select((s, i) => (DataFrameColumn)new DoubleDataFrameColumn($"sigma={s:G2}", all.Select(t => t.Ratios[i])))));
        var first = all.Where(t => t.SeedOffset == 0).ToList();
        var curveFrame = new DataFrame(new DataFrameColumn[] { new DoubleDataFrameColumn("fraction", all[0].Curves.LeastFirst.Fractions) }
            .Concat(first.Select(t => (DataFrameColumn)new DoubleDataFrameColumn(Label(t), t.Curves.LeastFirst.Accuracy))));
        return new ScoreMatchingResult(models, Summarize(all), ratioFrame, curveFrame, ClaimsTable.ToDataFrame(Claims(all, config)),
            CurveChart(first), RatioChart(first, config), samples!, maps!, duration);
    }

    static string Label(ScoreMatchingModelResult t) => $"{t.Dataset} {t.Regularizer}{(t.Lambda > 0 ? $" λ={t.Lambda:G2}" : "")}";

    /// <summary>Mean and half-range over seeds of every measure, per dataset, model and λ.</summary>
    static DataFrame Summarize(List<ScoreMatchingModelResult> all)
    {
        var groups = all.GroupBy(t => (t.Dataset, t.Regularizer, t.Lambda)).ToList();
        DataFrameColumn Stat(string name, Func<ScoreMatchingModelResult, double> measure) =>
            new StringDataFrameColumn(name, groups.Select(g => Spread.Of(g.Select(measure)).ToString()));
        return new DataFrame(
            new StringDataFrameColumn("dataset", groups.Select(g => g.Key.Dataset)),
            new StringDataFrameColumn("model", groups.Select(g => g.Key.Regularizer)),
            new DoubleDataFrameColumn("lambda", groups.Select(g => g.Key.Lambda)),
            new Int32DataFrameColumn("seeds", groups.Select(g => g.Count())),
            Stat("test_accuracy", t => t.Accuracy),
            Stat("gan_test_percent", t => 100 * t.GanTest.Accuracy),
            new DoubleDataFrameColumn("seed_cifar100_gan_test", groups.Select(g => SeedGanTest[g.Key.Regularizer])),
            Stat("auc_least_first", t => t.Curves.LeastFirst.Auc),
            Stat("auc_random_order", t => t.Curves.RandomOrder.Auc),
            Stat("density_ratio_sigma_0.1", t => t.Ratios[Math.Min(3, t.Ratios.Length - 1)]));
    }

    static IEnumerable<Claim> Claims(List<ScoreMatchingModelResult> all, ScoreMatchingConfig config)
    {
        int noise = Math.Min(3, config.NoiseLevels.Count - 1);
        foreach (var group in all.GroupBy(t => t.Dataset))
        {
            Spread Of(string name, double lambda, Func<ScoreMatchingModelResult, double> measure) =>
                Spread.Of(group.Where(t => t.Regularizer == name && (name == "baseline" || t.Lambda == lambda)).Select(measure));
            var judge = group.First().GanTest;
            foreach (var lambda in config.Lambdas)
            {
                string at = $"λ={lambda:G2}, {config.Seeds} seed(s)";
                yield return GanTestClaim(group.Key, at, Variants(config).ToDictionary(v => v.Name, v => Of(v.Name, lambda, t => 100 * t.GanTest.Accuracy)), judge, config);

                Spread Auc(string n) => Of(n, lambda, t => t.Curves.LeastFirst.Auc);
                var (ab, asm, aasm) = (Auc("baseline"), Auc("score-matching"), Auc("anti-score-matching"));
                yield return new Claim($"{group.Key}: pixel-perturbation AUC SM ≥ baseline ≥ anti-SM (least salient first, fill {FillText(config)}; {at})",
                    $"SM {asm}, base {ab}, anti {aasm} (fill 0.5: SM {Of("score-matching", lambda, t => t.Curves.LeastFirstHalfFill.Auc)}, base {Of("baseline", lambda, t => t.Curves.LeastFirstHalfFill.Auc)}, anti {Of("anti-score-matching", lambda, t => t.Curves.LeastFirstHalfFill.Auc)})",
                    "score matching improves, anti-SM deteriorates", asm.Mean >= ab.Mean && ab.Mean >= aasm.Mean);

                Spread Ratio(string n) => Of(n, lambda, t => t.Ratios[noise]);
                var (rb, rsm, rasm) = (Ratio("baseline"), Ratio("score-matching"), Ratio("anti-score-matching"));
                yield return new Claim($"{group.Key}: SM lowers the density ratio of noisy inputs, anti-SM raises it (σ={config.NoiseLevels[noise]:G2}; {at})",
                    $"SM {rsm}, base {rb}, anti {rasm}", "noisy points get high likelihood; less with SM, more with anti-SM",
                    rsm.Mean < rb.Mean && rasm.Mean > rb.Mean);
            }
            // The control: removing the least salient pixels first must hurt less than removing pixels in random order.
            var baseline = group.Where(t => t.Regularizer == "baseline").ToList();
            var ranked = Spread.Of(baseline.Select(t => t.Curves.LeastFirst.Auc));
            var random = Spread.Of(baseline.Select(t => t.Curves.RandomOrder.Auc));
            yield return new Claim($"{group.Key}: the baseline's gradient ranking beats random removal (least-salient-first AUC > random-order AUC)",
                $"ranked {ranked}, random {random}, most-salient-first {Spread.Of(baseline.Select(t => t.Curves.MostFirst.Auc))}",
                "(control, not in the paper)", ranked.Mean > random.Mean);
        }
    }

    /// <summary>
    /// The GAN-test claim (anti-SM ≪ baseline &lt; SM and gradient norm) from each variant's GAN-test in % (mean over seeds):
    /// not judged when the judge is below <see cref="ScoreMatchingConfig.JudgeMinimumAccuracy"/> on real images, and flagged
    /// when every model's samples sit at the ceiling (≥ 90 %), where the test cannot separate the models.
    /// </summary>
    public static Claim GanTestClaim(string dataset, string at, IReadOnlyDictionary<string, Spread> ganTestPercent, GanTestResult judge, ScoreMatchingConfig config)
    {
        foreach (var (name, _) in Variants(config))
            if (!ganTestPercent.ContainsKey(name)) throw new ArgumentException($"ganTestPercent has no entry for '{name}'; expected one per variant.", nameof(ganTestPercent));
        var (b, sm, asm, gn) = (ganTestPercent["baseline"], ganTestPercent["score-matching"], ganTestPercent["anti-score-matching"], ganTestPercent["gradient-norm"]);
        string measured = $"anti {asm}, base {b}, SM {sm}, GN {gn}; judge {100 * judge.JudgeRealAccuracy:F1}% on real test images";
        if (!judge.JudgeCompetent)
            measured = $"judge not competent ({100 * judge.JudgeRealAccuracy:F1}% < {100 * config.JudgeMinimumAccuracy:F0}% on real test images): not judged; {measured}";
        else if (new[] { b, sm, asm, gn }.All(g => g.Mean >= 90))
            measured += "; every model's samples are at the ceiling (≥ 90%): the GAN-test does not separate the models at this scale";
        return new Claim($"{dataset}: GAN-test anti-SM << baseline < SM and gradient-norm ({at})", measured, "16.40 << 59.47 < 72.75, 80.07 (CIFAR-100)",
            judge.JudgeCompetent && asm.Mean < b.Mean - 10 && b.Mean < sm.Mean && b.Mean < gn.Mean);
    }

    static string FillText(ScoreMatchingConfig config) => config.PerturbationFill is { } f ? f.ToString("G3") : "= background";

    static GenericChart CurveChart(List<ScoreMatchingModelResult> all) =>
        Plotly.NET.Chart.withTitle("Pixel perturbation: accuracy after replacing the least salient pixels", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(all.Select(t => CSharpChart.Line<double, double, string>(x: t.Curves.LeastFirst.Fractions, y: t.Curves.LeastFirst.Accuracy, Name: Label(t)))
                .Concat(all.Where(t => t.Regularizer == "baseline").Select(t => CSharpChart.Line<double, double, string>(x: t.Curves.RandomOrder.Fractions,
                    y: t.Curves.RandomOrder.Accuracy, Name: $"{t.Dataset} baseline, random order (control)", LineDash: StyleParam.DrawingStyle.Dash))))
            .WithXAxisStyle<double, double, string>(TitleText: "fraction removed (log)", AxisType: StyleParam.AxisType.Log)
            .WithYAxisStyle<double, double, string>(TitleText: "accuracy"));

    static GenericChart RatioChart(List<ScoreMatchingModelResult> all, ScoreMatchingConfig config) =>
        Plotly.NET.Chart.withTitle("Density ratio f_y(x+η) − f_y(x) vs noise level", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(all.Select(t => CSharpChart.Line<double, double, string>(x: config.NoiseLevels, y: t.Ratios, Name: Label(t), ShowMarkers: true)))
            .WithXAxisStyle<double, double, string>(TitleText: "noise σ").WithYAxisStyle<double, double, string>(TitleText: "log p(x+η|y) − log p(x|y)"));

    static GenericChart SampleGrid(List<(string Name, ScoreMatchingFigureData Data)> models, ScoreMatchingConfig config, DatasetName dataset)
    {
        using var scope = torch.NewDisposeScope();
        var columns = models.Select(m => (m.Name, m.Data.Samples.ToTensor())).ToList();
        return AttributionFigures.Images(columns, Workbench.Data.Datasets.ClassNames(dataset),
            $"{Workbench.Data.Datasets.CliName(dataset)}: one sample per class by logit ascent ({config.Sampler.Steps} steps), per model");
    }

    static GenericChart GradientMapGrid(List<(string Name, ScoreMatchingFigureData Data)> models, DatasetName dataset)
    {
        using var scope = torch.NewDisposeScope();
        var first = models[0].Data;
        return AttributionFigures.Grid(first.Inputs.ToTensor(), models.Select(m => (m.Name, m.Data.GradientMaps.ToTensor())).ToList(),
            rowLabels: AttributionFigures.ClassLabels(torch.tensor(first.Labels), classNames: Workbench.Data.Datasets.ClassNames(dataset)),
            title: $"{Workbench.Data.Datasets.CliName(dataset)}: |∇ₓ f_y| of the true class, per model");
    }
}

/// <summary>The mean of a measure over seeds and its half-range (max − min) / 2, printed "mean ± half-range".</summary>
public readonly record struct Spread(double Mean, double HalfRange, int Count)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var v = values.ToList();
        return v.Count == 0 ? new Spread(double.NaN, double.NaN, 0) : new Spread(v.Average(), (v.Max() - v.Min()) / 2, v.Count);
    }

    public override string ToString() => Count > 1 ? $"{Fmt(Mean)} ± {Fmt(HalfRange)}" : Fmt(Mean);

    static string Fmt(double x) => Math.Abs(x) >= 10 ? x.ToString("F1") : x.ToString("F3");
}
