using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>One row of the refinement table: which features the probe classifier read, and its held-out accuracy.</summary>
public sealed record RefinementRow(string Features, double? Accuracy, string Status);

/// <summary>
/// Feature refinement (Liang et al., 2019, Sec. 5): train a classifier on the consistent components only
/// (x̂⁽⁰⁾, x̂⁽⁰⁾ + x̂⁽¹⁾, ..., the inconsistent part removed) and compare it with the same classifier on the raw features
/// of each network. The paper retrains the network's upper layers; here the classifier is a <see cref="Probe"/> (the
/// same architecture and training for every row), so the rows differ only in the features.
/// </summary>
public static class FeatureRefinement
{
    /// <param name="sourceTrain">Features of the network g reads, on the classifier's training images [N, ...].</param>
    /// <param name="targetTrain">Features of the reconstructed network on the same images.</param>
    public static IReadOnlyList<RefinementRow> Run(ConsistencyFit fit, Tensor sourceTrain, Tensor targetTrain, Tensor trainLabels,
        Tensor sourceTest, Tensor targetTest, Tensor testLabels, ProbeOptions? probe = null, string sourceName = "network A", string targetName = "network B",
        IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        var rows = new List<RefinementRow>
        {
            Row($"{sourceName} (raw)", sourceTrain, trainLabels, sourceTest, testLabels, probe, progress),
            Row($"{targetName} (raw)", targetTrain, trainLabels, targetTest, testLabels, probe, progress),
        };
        if (fit.Outcome.Diverged)
        {
            rows.Add(new RefinementRow("consistent components", null, fit.Outcome.Failure!));
            return rows;
        }
        using var train = KnowledgeConsistency.Components(fit, sourceTrain);
        using var test = KnowledgeConsistency.Components(fit, sourceTest);
        using var trainSum = train.cumsum(0);
        using var testSum = test.cumsum(0);
        for (int k = 0; k <= fit.Net.Orders; k++)
            rows.Add(Row(string.Join(" + ", Enumerable.Range(0, k + 1).Select(i => $"x⁽{Superscript(i)}⁾")), trainSum[k], trainLabels, testSum[k], testLabels, probe, progress));
        return rows;
    }

    static RefinementRow Row(string name, Tensor train, Tensor trainLabels, Tensor test, Tensor testLabels, ProbeOptions? options, IProgressSink? progress)
    {
        using var probe = Probe.Fit(train, trainLabels, ProbeLikelihood.Categorical, options, progress);
        if (probe.Outcome.Diverged) return new RefinementRow(name, null, probe.Outcome.Failure!);
        return new RefinementRow(name, probe.Evaluate(test, testLabels).Accuracy, "ok");
    }

    static string Superscript(int k) => string.Concat(k.ToString().Select(c => "⁰¹²³⁴⁵⁶⁷⁸⁹"[c - '0']));
}
