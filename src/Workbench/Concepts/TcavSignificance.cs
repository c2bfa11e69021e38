using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// TCAV's statistical test (Kim et al., 2018, Sec. 3.2; tensorflow/tcav's get_pval): CAVs of the
/// concept against each of N random sets, and of a reference random set against the same N sets;
/// a two-sided Student t-test of the concept's N TCAV scores against the N random-vs-random scores.
/// The concept is significant when p ≤ α / <see cref="BonferroniTests"/> (tensorflow/tcav's
/// bonferroni_nr: the number of concepts tested together; 1 = a single concept, p ≤ 0.05).
/// </summary>
public sealed record TcavSignificanceOptions
{
    public CavOptions Cav { get; init; } = new();
    public double Alpha { get; init; } = 0.05;
    public int BonferroniTests { get; init; } = 1;
    public int BatchSize { get; init; } = 256;

    public TcavSignificanceOptions Validate()
    {
        Cav.Validate();
        if (!(Alpha > 0 && Alpha < 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, $"{nameof(Alpha)} must be in (0, 1).");
        if (BonferroniTests < 1) throw new ArgumentOutOfRangeException(nameof(BonferroniTests), BonferroniTests, $"{nameof(BonferroniTests)} must be >= 1.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"{nameof(BatchSize)} must be >= 1.");
        return this;
    }
}

/// <summary>
/// The test's outcome: the concept's TCAV scores (one per random counterpart), the random-vs-random
/// scores, the CAVs' held-out accuracies, the t-test and the verdict. <see cref="ConceptCavsAtChance"/>
/// counts concept CAVs whose classifier was at chance (their scores measure noise).
/// </summary>
public sealed record TcavSignificanceResult(
    double[] ConceptScores, double[] RandomScores, double[] ConceptMagnitudes, double[] ConceptCavAccuracies, double[] RandomCavAccuracies,
    TTestResult Test, double Threshold, bool Significant, int ConceptCavsAtChance)
{
    public double MeanConceptScore => ConceptScores.Average();
    public double MeanRandomScore => RandomScores.Average();
    public string Verdict => Significant
        ? $"significant: p = {Test.PValue:G3} ≤ {Threshold:G3}"
        : $"not significant: p = {(double.IsNaN(Test.PValue) ? "NaN (both score sets constant and equal)" : Test.PValue.ToString("G3"))} > {Threshold:G3}";
}

public static class TcavSignificance
{
    /// <summary>
    /// Runs the test for class <paramref name="targetClass"/> at <paramref name="layer"/>.
    /// <paramref name="randomSets"/>[0] is the reference random "concept"; sets 1..N are the random
    /// counterparts (N ≥ 2: a t-test needs two scores per group; the authors' default is 5, their plots use many).
    /// </summary>
    public static TcavSignificanceResult Run(nn.Module<Tensor, Tensor> model, string layer, Tensor classInputs, int targetClass,
        Tensor conceptInputs, IReadOnlyList<Tensor> randomSets, TcavSignificanceOptions? options = null, IProgressSink? progress = null)
    {
        options = (options ?? new TcavSignificanceOptions()).Validate();
        ArgumentNullException.ThrowIfNull(randomSets);
        if (randomSets.Count < 3)
            throw new ArgumentException($"randomSets must hold a reference set and at least 2 random counterparts (>= 3 sets) for the t-test; got {randomSets.Count}.", nameof(randomSets));
        progress ??= NullProgress.Instance;
        var (_, gradients) = LayerActivations.WithTargetGradient(model, layer, classInputs, targetClass, options.BatchSize);
        using var g = gradients;
        using var concept = Collect(model, layer, conceptInputs, nameof(conceptInputs), options);
        var random = new List<Tensor>();
        try
        {
            for (int i = 0; i < randomSets.Count; i++) random.Add(Collect(model, layer, randomSets[i], $"{nameof(randomSets)}[{i}]", options));
            int n = randomSets.Count - 1;
            var conceptScores = new double[n];
            var magnitudes = new double[n];
            var randomScores = new double[n];
            var conceptAcc = new double[n];
            var randomAcc = new double[n];
            int atChance = 0;
            using var task = progress.Start("TCAV significance (CAVs)", 2L * n);
            for (int i = 0; i < n; i++)
            {
                var cavOptions = options.Cav with { Seed = options.Cav.Seed + i };
                using (var cav = ConceptActivationVector.Train(concept, random[i + 1], cavOptions))
                {
                    var score = Tcav.FromGradients(g, cav.Direction);
                    (conceptScores[i], magnitudes[i], conceptAcc[i]) = (score.SignCount, score.Magnitude, cav.HeldOutAccuracy);
                    if (cav.AtChance) atChance++;
                }
                task.Report(2L * i + 1);
                using (var cav = ConceptActivationVector.Train(random[0], random[i + 1], cavOptions))
                    (randomScores[i], randomAcc[i]) = (Tcav.FromGradients(g, cav.Direction).SignCount, cav.HeldOutAccuracy);
                task.Report(2L * i + 2);
            }
            var test = TwoSampleTTest.Run(conceptScores, randomScores);
            double threshold = options.Alpha / options.BonferroniTests;
            return new TcavSignificanceResult(conceptScores, randomScores, magnitudes, conceptAcc, randomAcc, test, threshold,
                test.PValue <= threshold, atChance);
        }
        finally { foreach (var r in random) r.Dispose(); }
    }

    static Tensor Collect(nn.Module<Tensor, Tensor> model, string layer, Tensor inputs, string name, TcavSignificanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs, name);
        if (inputs.dim() < 1 || inputs.shape[0] < 2)
            throw new ArgumentException($"{name} must hold at least 2 examples; got [{string.Join(", ", inputs.shape)}].", name);
        return LayerActivations.Collect(model, layer, inputs, options.BatchSize);
    }
}
