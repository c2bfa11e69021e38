using Microsoft.Data.Analysis;
using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Boundaries;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Frequency;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.Frequency;

/// <summary>
/// Experiment E8 (seed 003): high-frequency components (Wang et al., CVPR 2020) and the spectral bias of ReLU networks
/// (Rahaman et al., ICML 2019). See notebook 08 for every deviation from the papers' protocols.
/// </summary>
public sealed record FrequencyConfig
{
    /// <summary>The HFC part's data (the paper: CIFAR-10; here a 28×28 grey dataset).</summary>
    public DatasetName Dataset { get; init; } = DatasetName.FashionMnist;
    public int TrainImages { get; init; } = 60_000;
    public int Epochs { get; init; } = 3;
    public int TestImages { get; init; } = 10_000;
    /// <summary>Radii of the LFC / HFC training sets (the seed's Table 1).</summary>
    public IReadOnlyList<double> TrainRadii { get; init; } = new[] { 4.0, 8, 12, 16 };
    /// <summary>Radii of the LFC / HFC test sets of the normally trained model (≤ 19.8, the 28×28 spectrum's range).</summary>
    public IReadOnlyList<double> TestRadii { get; init; } = new[] { 2.0, 4, 6, 8, 10, 12, 14, 16, 18 };
    public IReadOnlyList<double> SmoothingP { get; init; } = new[] { 0.0, 0.05, 0.1, 0.25, 0.5 };
    public double FgsmEpsilon { get; init; } = 0.1;
    /// <summary>The accuracy-vs-epoch curves (the seed's Figs. 4–5): epochs per run, the batch sizes of Fig. 4, and the test
    /// images' radii (<see cref="TrainRadii"/>). The first batch size is also trained with BatchNorm (Fig. 5's heuristic).</summary>
    public int CurveEpochs { get; init; } = 8;
    public IReadOnlyList<int> CurveBatchSizes { get; init; } = new[] { 32, 128, 512 };

    /// <summary>Spectral bias: grid points on [0, 1), training steps, recording interval.</summary>
    public int Points { get; init; } = 200;
    public SpectralBiasOptions SpectralBias { get; init; } = new() { Steps = 10_000, RecordEvery = 100 };
    public IReadOnlyList<double> NoiseNorms { get; init; } = Enumerable.Range(0, 51).Select(i => i * 0.1).ToArray();
    public int NoiseDraws { get; init; } = 20;
    /// <summary>The curves γ_L of the manifold experiments (Section 5; L = 0 is the circle). The regression target is the
    /// equal-amplitude mixture, trained with <see cref="SpectralBias"/>'s options.</summary>
    public IReadOnlyList<double> ManifoldL { get; init; } = new[] { 0.0, 4, 10, 16 };
    /// <summary>Experiment 5: the class of z is sin(2πkz) > 0 for this k, on <see cref="ManifoldPoints"/> grid points (half train, half validate).</summary>
    public int ManifoldFrequency { get; init; } = 30;
    public int ManifoldPoints { get; init; } = 400;
    public int Seed { get; init; }

    public static FrequencyConfig Quick { get; } = new()
    {
        TrainImages = 2_000, Epochs = 1, TestImages = 500, TrainRadii = new[] { 4.0, 12 }, TestRadii = new[] { 4.0, 8, 12, 16 },
        SpectralBias = new SpectralBiasOptions { Steps = 500, RecordEvery = 50 }, NoiseNorms = Enumerable.Range(0, 11).Select(i => i * 0.5).ToArray(), NoiseDraws = 3,
        ManifoldL = new[] { 0.0, 16 }, CurveEpochs = 3, CurveBatchSizes = new[] { 32, 256 },
    };

    /// <summary>20,000 training images and 2 epochs for each of the 9 CNNs, with the manifold experiments and the 8-epoch accuracy curves:
    /// notebook 08 in full mode took 40.9 min in the real kernel from a cold cache on 2 quiet cores at 2 torch threads, 33.9 min of it in
    /// <see cref="FrequencyExperiment.Run"/> (2026-12-01).</summary>
    public static FrequencyConfig Full { get; } = new() { TrainImages = 20_000, Epochs = 2 };
}

public sealed record SpectralResult(string Name, SpectralBiasRun Run, double[][] Noise);

/// <summary>One curve γ_L of the manifold experiments: the regression's high-frequency amplitude over training (mean normalised
/// amplitude of k ≥ 30) and final spectrum, and the classification's validation accuracy over training.</summary>
public sealed record ManifoldResult(double L, int[] Steps, double[] HighFrequencyAmplitude, double[] FinalAmplitudes, double[] Frequencies,
    ManifoldClassificationRun Classification);

public sealed record FrequencyResult(DataFrame HfcTraining, DataFrame FilteredTest, DataFrame Curves, DataFrame Smoothing, DataFrame LearnedAt, DataFrame Manifolds,
    DataFrame Claims, GenericChart FilteredTestChart, IReadOnlyList<GenericChart> CurveCharts, GenericChart SpectralEqual, GenericChart SpectralIncreasing,
    GenericChart NoiseChart, GenericChart ManifoldChart, TimeSpan Duration);

public static class FrequencyExperiment
{
    /// <summary>The seed's Table 1 (CIFAR-10): r → (LFC train, LFC test, HFC train, HFC test).</summary>
    public static readonly IReadOnlyDictionary<double, (double LfcTrain, double LfcTest, double HfcTrain, double HfcTest)> SeedTable1 =
        new Dictionary<double, (double, double, double, double)>
        {
            [4] = (0.9668, 0.6167, 0.9885, 0.2002), [8] = (0.9786, 0.7154, 0.9768, 0.092),
            [12] = (0.9786, 0.7516, 0.9797, 0.0997), [16] = (0.9839, 0.7714, 0.9384, 0.1281),
        };

    public static ModelSpec Cnn { get; } = new("cnn");

    public static TrainOptions Training(FrequencyConfig config) => new() { Epochs = config.Epochs, Seed = config.Seed };

    /// <summary>The two spectral-bias targets: equal amplitudes 1, and increasing amplitudes 0.1·(i + 1) (k = 5, 10, …, 50).</summary>
    public static SinusoidMixture Target(FrequencyConfig config, bool increasing) =>
        Generators.Sinusoids(config.Points, Enumerable.Range(0, 10).Select(i => increasing ? 0.1 * (i + 1) : 1.0).ToArray(), config.Seed);

    public static FrequencyResult Run(FrequencyConfig config, IProgressSink? progress = null, ModelCache? cache = null)
    {
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var data = Workbench.Data.Datasets.Load(config.Dataset, progress: progress);
        using var train = data.Train.Take(config.TrainImages);
        using var test = data.Test.Take(config.TestImages);
        using var trainProbe = train.Take(config.TestImages);

        // Table 1: train on LFC(r) or HFC(r), test on the originals.
        var hfcRows = new List<(double R, double LfcTrain, double LfcTest, double HfcTrain, double HfcTest)>();
        foreach (var r in config.TrainRadii)
        {
            double[] Fit(bool low)
            {
                using var filtered = FrequencySplit.Of(train, r, low);
                using var probe = filtered.Take(config.TestImages);
                using var model = cache.GetOrTrain(Cnn, filtered, null, Training(config), progress).Model;
                return new[] { Trainer.Evaluate(model, probe).Accuracy, Trainer.Evaluate(model, test).Accuracy };
            }
            var lfc = Fit(true);
            var hfc = Fit(false);
            hfcRows.Add((r, lfc[0], lfc[1], hfc[0], hfc[1]));
        }

        // A normally trained model on LFC(r) / HFC(r) test images, and kernel smoothing vs FGSM.
        using var baseline = cache.GetOrTrain(Cnn, train, test, Training(config), progress).Model;
        double clean = Trainer.Evaluate(baseline, test).Accuracy;
        var filteredRows = config.TestRadii.Select(r =>
        {
            using var low = FrequencySplit.Of(test, r, true);
            using var high = FrequencySplit.Of(test, r, false);
            return (R: r, Lfc: Trainer.Evaluate(baseline, low).Accuracy, Hfc: Trainer.Evaluate(baseline, high).Accuracy);
        }).ToList();
        List<FrequencyCurve> curves;
        using (var probe = new FrequencyProbe(trainProbe, test, config.TrainRadii)) curves = Curves(config, train, probe, progress);
        var smoothingRows = config.SmoothingP.Select(p =>
        {
            using var smoothed = KernelSmoothing.Apply(baseline, p);
            return (P: p, Clean: Trainer.Evaluate(baseline, test).Accuracy, Fgsm: FgsmAccuracy(baseline, test, config.FgsmEpsilon));
        }).ToList();

        // Spectral bias: equal and increasing amplitudes, then parameter noise on the trained networks.
        var spectral = new List<SpectralResult>();
        foreach (var increasing in new[] { false, true })
        {
            using var target = Target(config, increasing);
            var run = SpectralBias.Train(target, config.SpectralBias with { Seed = config.Seed }, progress);
            var noise = SpectralBias.ParameterNoise(run.Model, target.Z, target.Frequencies, config.NoiseNorms, config.NoiseDraws, config.Seed + 1);
            spectral.Add(new SpectralResult(increasing ? "increasing amplitudes" : "equal amplitudes", run, noise));
        }
        try
        {
            // Inside the try: a failing manifold run must not leak the spectral-bias networks above.
            var manifolds = config.ManifoldL.Select(L => Manifold(config, L, progress)).ToList();
            return new FrequencyResult(HfcTable(hfcRows), FilteredTable(filteredRows, clean), CurveTable(curves), SmoothingTable(smoothingRows), LearnedTable(spectral),
                ManifoldTable(manifolds, config), ClaimsTable.ToDataFrame(Claims(hfcRows, filteredRows, curves, smoothingRows, spectral, manifolds, config)),
                FilteredChart(filteredRows, clean), curves.Select(CurveChart).ToList(), Heatmap(spectral[0]), Heatmap(spectral[1]), NoiseChart(spectral[0], config),
                ManifoldChart(manifolds, config), clock.Elapsed);
        }
        finally { foreach (var s in spectral) s.Run.Dispose(); }
    }

    /// <summary>
    /// The seed's Figs. 4–5: the cnn trained from the same seeded initialisation at each of <see cref="FrequencyConfig.CurveBatchSizes"/>,
    /// and with BatchNorm at the first of them, each measured on <paramref name="probe"/> after every epoch (not cached).
    /// </summary>
    public static List<FrequencyCurve> Curves(FrequencyConfig config, TensorDataset train, FrequencyProbe probe, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        progress ??= NullProgress.Instance;
        var options = Training(config) with { Epochs = config.CurveEpochs };
        var runs = config.CurveBatchSizes.Select(b => ($"batch {b}", Cnn, options with { BatchSize = b }))
            .Append(($"batch {config.CurveBatchSizes[0]} + BatchNorm", Cnn with { BatchNorm = true }, options with { BatchSize = config.CurveBatchSizes[0] }));
        return runs.Select(r => FrequencyCurves.Track(r.Item1, r.Item2, train, probe, r.Item3, progress)).ToList();
    }

    /// <summary>The frequencies whose amplitude the manifold table averages: the upper half of the mixture (k ≥ 30).</summary>
    public const double HighFrequency = 30;

    /// <summary>
    /// Experiments 4 and 5 of the spectral-bias paper on one curve γ_L: the equal-amplitude regression with the network reading
    /// γ_L(z), and the binary classification of sin(2πkz) > 0 (<see cref="ManifoldSpectralBias"/>).
    /// </summary>
    public static ManifoldResult Manifold(FrequencyConfig config, double L, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        progress ??= NullProgress.Instance;
        var options = config.SpectralBias with { Seed = config.Seed };
        using var target = Target(config, increasing: false);
        using var run = ManifoldSpectralBias.Regress(target, L, options, progress.Within($"manifold L={L} regression"));
        var high = Enumerable.Range(0, run.Frequencies.Length).Where(i => run.Frequencies[i] >= HighFrequency).ToArray();
        var classification = ManifoldSpectralBias.Classify(L, config.ManifoldFrequency, config.ManifoldPoints, options, progress);
        return new ManifoldResult(L, run.Steps, run.NormalizedAmplitudes.Select(row => high.Average(i => row[i])).ToArray(), run.NormalizedAmplitudes[^1],
            run.Frequencies, classification);
    }

    /// <summary>Accuracy on FGSM examples in [0, 1], attacked in batches of 500 (memory stays bounded on the whole test set).</summary>
    public static double FgsmAccuracy(nn.Module<Tensor, Tensor> model, TensorDataset test, double epsilon)
    {
        long correct = 0;
        foreach (var batch in test.Batches(500, shuffle: false, seed: 0))
        {
            using var scope = torch.NewDisposeScope();
            using var _ = batch;
            var adversarial = Fgsm.Perturb(model, batch.Inputs, batch.Labels, epsilon, lower: 0, upper: 1);
            using var noGrad = torch.no_grad();
            correct += model.call(adversarial).argmax(1).eq(batch.Labels).sum().item<long>();
        }
        return (double)correct / test.Count;
    }

    static IEnumerable<Claim> Claims(List<(double R, double LfcTrain, double LfcTest, double HfcTrain, double HfcTest)> hfc,
        List<(double R, double Lfc, double Hfc)> filtered, List<FrequencyCurve> curves, List<(double P, double Clean, double Fgsm)> smoothing,
        List<SpectralResult> spectral, List<ManifoldResult> manifolds, FrequencyConfig config)
    {
        foreach (var claim in CurveClaims(curves, config)) yield return claim;
        // Experiments 4 and 5: the flattest and the most winding curve of the sweep.
        var flat = manifolds.MinBy(m => m.L)!;
        var wound = manifolds.MaxBy(m => m.L)!;
        yield return new Claim($"regression on γ_L: the high frequencies (k ≥ {HighFrequency}) are learned faster at L = {wound.L} than at L = {flat.L} (amplitude averaged over training)",
            string.Join("; ", manifolds.Select(m => $"L={m.L}: mean {m.HighFrequencyAmplitude.Average():F2}, end {m.HighFrequencyAmplitude[^1]:F2}")) + $" over {config.SpectralBias.Steps} steps",
            "the larger L, the easier the learning task (Experiment 4)", wound.HighFrequencyAmplitude.Average() > flat.HighFrequencyAmplitude.Average());
        yield return new Claim($"classification of sin(2π·{config.ManifoldFrequency}z) > 0: held-out accuracy, averaged over training, is higher at L = {wound.L} than at L = {flat.L}",
            string.Join("; ", manifolds.Select(m => $"L={m.L}: mean {100 * m.Classification.MeanAccuracy:F1}%, final {100 * m.Classification.FinalAccuracy:F1}%")),
            "larger L, better classification of the same target (Experiment 5)", wound.Classification.MeanAccuracy > flat.Classification.MeanAccuracy);
        foreach (var s in spectral)
        {
            int low = s.Run.StepLearned(0), high = s.Run.StepLearned(s.Run.Frequencies.Length - 1);
            yield return new Claim($"spectral bias, {s.Name}: k = 5 reaches half its amplitude before k = 50",
                $"k=5 at step {Step(low)}, k=50 at {Step(high)} (of {config.SpectralBias.Steps})", "low frequencies first, also when high ones are larger (Fig. 1)", low < high);
        }
        // Robustness is only defined for frequencies the network has learned (amplitude ≥ half the target's at the end):
        // compare the lowest and the highest of them; with fewer than two learned the claim cannot hold.
        var eq = spectral[0];
        int mid = config.NoiseNorms.Count / 2;
        var learned = Enumerable.Range(0, eq.Run.Frequencies.Length).Where(i => eq.Run.NormalizedAmplitudes[^1][i] >= 0.5).ToList();
        yield return learned.Count < 2
            ? new Claim($"parameter noise (δ = {config.NoiseNorms[mid]:G2}): the highest learned frequency loses more of its amplitude than the lowest",
                $"only {learned.Count} frequency learned (k = {string.Join(", ", learned.Select(i => eq.Run.Frequencies[i]))}) after {config.SpectralBias.Steps} steps: not testable",
                "high frequencies collapse first (Fig. 3)", false)
            : new Claim($"parameter noise (δ = {config.NoiseNorms[mid]:G2}): the highest learned frequency loses more of its amplitude than the lowest",
                $"k = {eq.Run.Frequencies[learned[0]]} keeps {eq.Noise[mid][learned[0]]:F2}, k = {eq.Run.Frequencies[learned[^1]]} keeps {eq.Noise[mid][learned[^1]]:F2}",
                "high frequencies collapse first (Fig. 3)", eq.Noise[mid][learned[^1]] < eq.Noise[mid][learned[0]]);
        var bestHfc = filtered.MaxBy(f => f.Hfc);
        yield return new Claim("a model trained on originals classifies many HFC-only test images correctly (best radius ≥ 3× chance)",
            $"{100 * bestHfc.Hfc:F1}% at r = {bestHfc.R}", "CIFAR-10: many HFC images correctly predicted", bestHfc.Hfc >= 0.3);
        yield return new Claim("training on LFC(r) generalises to the originals better than training on HFC(r), at every r",
            string.Join("; ", hfc.Select(h => $"r={h.R}: LFC {100 * h.LfcTest:F1}%, HFC {100 * h.HfcTest:F1}%")), "r=4: 61.7% vs 20.0% … r=16: 77.1% vs 12.8%",
            hfc.All(h => h.LfcTest > h.HfcTest));
        var plain = smoothing.First(s => s.P == 0);
        var best = smoothing.MaxBy(s => s.Fgsm);
        yield return new Claim($"smoothing the first-layer kernels raises FGSM accuracy (ε = {config.FgsmEpsilon})",
            $"p=0: {100 * plain.Fgsm:F1}%, best p={best.P}: {100 * best.Fgsm:F1}% (clean {100 * best.Clean:F1}%)", "smoother kernels, more robust (Sec. 5)", best.Fgsm > plain.Fgsm);
    }

    /// <summary>
    /// Sec. 4 of the HFC paper on Figs. 4–5: a smaller batch gives higher training and test accuracy, a bigger one a smaller
    /// generalisation gap and less use of the HFC; BatchNorm encourages the model to pick up the HFC.
    /// </summary>
    static IEnumerable<Claim> CurveClaims(List<FrequencyCurve> curves, FrequencyConfig config)
    {
        var plain = curves.Where(c => !c.Spec.BatchNorm).ToList();
        FrequencyCurve small = plain.MinBy(c => c.Options.BatchSize)!, big = plain.MaxBy(c => c.Options.BatchSize)!;
        string At(FrequencyCurve c) => $"batch {c.Options.BatchSize}";
        string radii = string.Join(", ", config.TrainRadii);
        yield return new Claim($"after {config.CurveEpochs} epochs, {At(small)} reaches a higher test accuracy than {At(big)}",
            $"{At(small)}: train {100 * small.Last.Train:F1}%, test {100 * small.Last.Test:F1}%; {At(big)}: train {100 * big.Last.Train:F1}%, test {100 * big.Last.Test:F1}%",
            "a smaller batch size excels in training and test accuracy (Fig. 4)", small.Last.Test > big.Last.Test);
        yield return new Claim($"{At(big)} leaves a smaller generalisation gap (train − test accuracy) than {At(small)}",
            $"{At(big)}: {100 * big.Gap:F1} points; {At(small)}: {100 * small.Gap:F1} points", "a bigger batch size closes the generalisation gap (Fig. 4)", big.Gap < small.Gap);
        yield return new Claim($"{At(big)} classifies fewer HFC test images correctly than {At(small)} (mean over r = {radii}, last epoch)",
            $"{At(big)}: {100 * big.Last.MeanHfc:F1}%; {At(small)}: {100 * small.Last.MeanHfc:F1}%", "bigger batches are more invariant to the HFC (Fig. 4)",
            big.Last.MeanHfc < small.Last.MeanHfc);
        var bn = curves.Single(c => c.Spec.BatchNorm);
        var same = plain.Single(c => c.Options.BatchSize == bn.Options.BatchSize);
        double Hfc(FrequencyCurve c) => c.Points.Average(p => p.MeanHfc);
        yield return new Claim($"with BatchNorm the cnn classifies more HFC test images correctly than without ({At(bn)}, mean over r = {radii} and all epochs)",
            $"BatchNorm: {100 * Hfc(bn):F1}% (test {100 * bn.Last.Test:F1}%); none: {100 * Hfc(same):F1}% (test {100 * same.Last.Test:F1}%)",
            "BatchNorm encourages the model to capture the HFC (Fig. 5)", Hfc(bn) > Hfc(same));
    }

    static string Step(int step) => step == int.MaxValue ? "never" : step.ToString();

    static DataFrame HfcTable(List<(double R, double LfcTrain, double LfcTest, double HfcTrain, double HfcTest)> rows) => new(
        new DoubleDataFrameColumn("r", rows.Select(r => r.R)),
        new DoubleDataFrameColumn("lfc_train_acc", rows.Select(r => r.LfcTrain)),
        new DoubleDataFrameColumn("lfc_test_acc", rows.Select(r => r.LfcTest)),
        new DoubleDataFrameColumn("hfc_train_acc", rows.Select(r => r.HfcTrain)),
        new DoubleDataFrameColumn("hfc_test_acc", rows.Select(r => r.HfcTest)),
        new DoubleDataFrameColumn("seed_lfc_test", rows.Select(r => SeedTable1.TryGetValue(r.R, out var s) ? s.LfcTest : double.NaN)),
        new DoubleDataFrameColumn("seed_hfc_test", rows.Select(r => SeedTable1.TryGetValue(r.R, out var s) ? s.HfcTest : double.NaN)));

    static DataFrame FilteredTable(List<(double R, double Lfc, double Hfc)> rows, double clean) => new(
        new DoubleDataFrameColumn("r", rows.Select(r => r.R)),
        new DoubleDataFrameColumn("acc_on_lfc", rows.Select(r => r.Lfc)),
        new DoubleDataFrameColumn("acc_on_hfc", rows.Select(r => r.Hfc)),
        new DoubleDataFrameColumn("acc_on_originals", rows.Select(_ => clean)));

    /// <summary>The curves in long form: one row per run and epoch, one column per test set.</summary>
    static DataFrame CurveTable(List<FrequencyCurve> curves)
    {
        var rows = curves.SelectMany(c => c.Points.Select(p => (c.Name, Point: p))).ToList();
        var radii = curves[0].Radii;
        return new DataFrame(new DataFrameColumn[]
            {
                new StringDataFrameColumn("run", rows.Select(r => r.Name)),
                new Int32DataFrameColumn("epoch", rows.Select(r => r.Point.Epoch)),
                new DoubleDataFrameColumn("train_acc", rows.Select(r => r.Point.Train)),
                new DoubleDataFrameColumn("test_acc", rows.Select(r => r.Point.Test)),
            }
            .Concat(radii.Select((r, i) => (DataFrameColumn)new DoubleDataFrameColumn($"lfc{r}_acc", rows.Select(x => x.Point.Lfc[i]))))
            .Concat(radii.Select((r, i) => (DataFrameColumn)new DoubleDataFrameColumn($"hfc{r}_acc", rows.Select(x => x.Point.Hfc[i])))));
    }

    /// <summary>One panel of Figs. 4–5: train and test accuracy (solid), LFC(r) and HFC(r) test accuracy (dashed), over epochs.</summary>
    public static GenericChart CurveChart(FrequencyCurve curve)
    {
        var epochs = curve.Points.Select(p => p.Epoch).ToArray();
        var series = new List<Workbench.Visualization.Series<int>>
        {
            new("train", epochs, curve.Points.Select(p => p.Train).ToArray()),
            new("test", epochs, curve.Points.Select(p => p.Test).ToArray()),
        };
        for (int i = 0; i < curve.Radii.Count; i++)
        {
            int k = i;
            series.Add(new($"LFC r={curve.Radii[k]}", epochs, curve.Points.Select(p => p.Lfc[k]).ToArray(), Dashed: true));
            series.Add(new($"HFC r={curve.Radii[k]}", epochs, curve.Points.Select(p => p.Hfc[k]).ToArray(), Dashed: true));
        }
        return Workbench.Visualization.LineFigures.Lines(series, "epoch", "accuracy", $"{curve.Name}: accuracy on train, test, LFC and HFC test images",
            yRange: (0, 1), width: 800, height: 400);
    }

    static DataFrame SmoothingTable(List<(double P, double Clean, double Fgsm)> rows) => new(
        new DoubleDataFrameColumn("p", rows.Select(r => r.P)),
        new DoubleDataFrameColumn("clean_acc", rows.Select(r => r.Clean)),
        new DoubleDataFrameColumn("fgsm_acc", rows.Select(r => r.Fgsm)));

    static DataFrame LearnedTable(List<SpectralResult> spectral) => new(new DataFrameColumn[]
        { new DoubleDataFrameColumn("k", spectral[0].Run.Frequencies) }
        .Concat(spectral.Select(s => (DataFrameColumn)new StringDataFrameColumn($"{s.Name}: step at half amplitude",
            Enumerable.Range(0, s.Run.Frequencies.Length).Select(i => Step(s.Run.StepLearned(i))))))
        .Concat(spectral.Select(s => (DataFrameColumn)new DoubleDataFrameColumn($"{s.Name}: final amplitude", s.Run.NormalizedAmplitudes[^1]))));

    static DataFrame ManifoldTable(List<ManifoldResult> manifolds, FrequencyConfig config) => new(
        new DoubleDataFrameColumn("L", manifolds.Select(m => m.L)),
        new DoubleDataFrameColumn($"amplitude k ≥ {HighFrequency} (end)", manifolds.Select(m => m.HighFrequencyAmplitude[^1])),
        new DoubleDataFrameColumn($"amplitude k ≥ {HighFrequency} (mean over training)", manifolds.Select(m => m.HighFrequencyAmplitude.Average())),
        new StringDataFrameColumn("frequencies learned (≥ 0.5)", manifolds.Select(m =>
            string.Join(", ", m.Frequencies.Where((_, i) => m.FinalAmplitudes[i] >= 0.5)))),
        new DoubleDataFrameColumn($"classification k = {config.ManifoldFrequency}: held-out accuracy (end)", manifolds.Select(m => m.Classification.FinalAccuracy)),
        new DoubleDataFrameColumn("held-out accuracy (mean over training)", manifolds.Select(m => m.Classification.MeanAccuracy)));

    /// <summary>Experiments 4 and 5 over training: the high-frequency amplitude (solid) and the held-out accuracy (dashed), one colour per L.</summary>
    static GenericChart ManifoldChart(List<ManifoldResult> manifolds, FrequencyConfig config) =>
        Workbench.Visualization.LineFigures.Lines(manifolds.SelectMany(m => new[]
            {
                new Workbench.Visualization.Series<int>($"L = {m.L}: amplitude k ≥ {HighFrequency}", m.Steps, m.HighFrequencyAmplitude),
                new Workbench.Visualization.Series<int>($"L = {m.L}: accuracy, k = {config.ManifoldFrequency}", m.Classification.Steps, m.Classification.ValidationAccuracy, Dashed: true),
            }).ToList(), "training step", "normalised amplitude / held-out accuracy", "Data on the curve γ_L: the larger L, the easier the high frequency?");

    static GenericChart FilteredChart(List<(double R, double Lfc, double Hfc)> rows, double clean) =>
        Plotly.NET.Chart.withTitle($"A normally trained model on LFC(r) and HFC(r) test images (originals: {100 * clean:F1}%)", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(new[]
            {
                CSharpChart.Line<double, double, string>(x: rows.Select(r => r.R), y: rows.Select(r => r.Lfc), Name: "LFC", ShowMarkers: true),
                CSharpChart.Line<double, double, string>(x: rows.Select(r => r.R), y: rows.Select(r => r.Hfc), Name: "HFC", ShowMarkers: true),
            }).WithXAxisStyle<double, double, string>(TitleText: "radius r").WithYAxisStyle<double, double, string>(TitleText: "accuracy"));

    /// <summary>The paper's Fig. 1: frequency (rows) × training step (columns), colour = 2|FFT_k| / A_k.</summary>
    static GenericChart Heatmap(SpectralResult s)
    {
        var z = s.Run.Frequencies.Select((_, i) => s.Run.NormalizedAmplitudes.Select(row => Math.Min(row[i], 1.5)).ToArray()).ToArray();
        return Plotly.NET.Chart.withTitle($"Spectral bias, {s.Name}: normalised amplitude of each frequency over training", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Heatmap<double, int, double, string>(zData: z, X: s.Run.Steps, Y: s.Run.Frequencies, ColorScale: StyleParam.Colorscale.Viridis)
                .WithXAxisStyle<int, int, string>(TitleText: "training step").WithYAxisStyle<double, double, string>(TitleText: "frequency k"));
    }

    /// <summary>The paper's Fig. 3: amplitude of each frequency relative to the trained network's, against the norm of the parameter noise.</summary>
    static GenericChart NoiseChart(SpectralResult s, FrequencyConfig config) =>
        Plotly.NET.Chart.withTitle($"Parameter noise ({s.Name}): amplitude relative to the trained network", Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(
            CSharpChart.Combine(s.Run.Frequencies.Select((k, i) => CSharpChart.Line<double, double, string>(x: config.NoiseNorms, y: s.Noise.Select(row => row[i]), Name: $"k = {k}")))
                .WithXAxisStyle<double, double, string>(TitleText: "‖δθ‖ (random direction)").WithYAxisStyle<double, double, string>(TitleText: "amplitude / trained amplitude"));
}
