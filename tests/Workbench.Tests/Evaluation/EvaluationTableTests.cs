using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using Workbench.Tests.Attribution;
using static TorchSharp.torch;

namespace Workbench.Tests.Evaluation;

/// <summary>Issue #21: one call for methods × metrics (Quantus' evaluate), with each metric's direction and per-metric ranks.</summary>
public class EvaluationTableTests
{
    [Fact]
    public void Every_method_meets_every_metric_and_ranks_follow_each_metrics_direction()
    {
        using var model = Nets.Cnn(3);
        using var x = Nets.Inputs(new long[] { 6, 1, 8, 8 }, seed: 4, 0, 1);
        using var y = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        Explainer random = (inputs, _) => torch.rand(inputs.shape, generator: new torch.Generator(7));
        var methods = new List<(string, Explainer)> { ("IntegratedGradients", Explainers.From(new IntegratedGradients(model))), ("random", random) };
        var table = EvaluationTable.Evaluate(model, x, y, methods);
        int metrics = EvaluationTable.Standard.Count;
        Assert.Equal(2 * metrics, table.Rows.Count);
        var rows = Enumerable.Range(0, (int)table.Rows.Count).Select(i => (Method: (string)table["method"][i], Metric: (string)table["metric"][i],
            Better: (string)table["better"][i], Mean: (double)table["mean"][i]!, Rank: (int)table["rank"][i]!)).ToList();
        foreach (var metric in rows.GroupBy(r => r.Metric))
        {
            Assert.Equal(new[] { 1, 2 }, metric.Select(r => r.Rank).Order());
            var (best, worst) = (metric.Single(r => r.Rank == 1), metric.Single(r => r.Rank == 2));
            if (double.IsFinite(best.Mean) && double.IsFinite(worst.Mean))
                Assert.True(best.Better == "higher" ? best.Mean >= worst.Mean : best.Mean <= worst.Mean, $"{metric.Key}: rank 1 {best.Mean} vs rank 2 {worst.Mean}");
        }
        // IG explains this model; random maps do not: faithfulness correlation tells them apart.
        var faithfulness = rows.Where(r => r.Metric == "faithfulness_correlation").ToDictionary(r => r.Method);
        Assert.True(faithfulness["IntegratedGradients"].Mean > faithfulness["random"].Mean + 0.2, $"IG {faithfulness["IntegratedGradients"].Mean} vs random {faithfulness["random"].Mean}");
        Assert.Equal(1, faithfulness["IntegratedGradients"].Rank);
        // Random maps ignore the weights: after full randomization they are as similar as before, IG's are not.
        var mprt = rows.Where(r => r.Metric == "mprt_similarity_fully_randomized").ToDictionary(r => r.Method);
        Assert.Equal(1, mprt["IntegratedGradients"].Rank);

        var wide = EvaluationTable.Wide(table);
        Assert.Equal(2, wide.Rows.Count);
        Assert.Equal(metrics + 2, wide.Columns.Count);
        Assert.Contains(wide.Columns, c => c.Name == "faithfulness_correlation (↑)");
        Assert.Contains(wide.Columns, c => c.Name == "infidelity (↓)");
    }

    [Fact]
    public void Bad_method_lists_are_named()
    {
        using var model = Nets.Cnn(3);
        using var x = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 4, 0, 1);
        using var y = torch.tensor(new long[] { 0, 1 });
        Explainer zero = (inputs, _) => torch.zeros_like(inputs);
        Assert.Equal("methods", Assert.Throws<ArgumentException>(() => EvaluationTable.Evaluate(model, x, y, new List<(string, Explainer)>())).ParamName);
        var twice = Assert.Throws<ArgumentException>(() => EvaluationTable.Evaluate(model, x, y, new List<(string, Explainer)> { ("a", zero), ("a", zero) }));
        Assert.Contains("'a' appears twice", twice.Message);
        Assert.Equal("table", Assert.Throws<ArgumentException>(() => EvaluationTable.Wide(new Microsoft.Data.Analysis.DataFrame())).ParamName);
    }
}
