using Microsoft.Data.Analysis;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Which direction of a metric is better (Quantus' <c>higher_is_better</c>).</summary>
public enum Preferred { Higher, Lower }

/// <summary>What a metric of the table sees: the model, the explained inputs and targets, one method's maps and the method
/// itself as an <see cref="Explainer"/> (for metrics that explain again: robustness, randomization).</summary>
public sealed record MetricInput(nn.Module<Tensor, Tensor> Model, Tensor Inputs, Tensor Targets, Tensor Maps, Explainer Explain, int Classes, int Seed)
{
    (MetricResult Deletion, MetricResult Insertion)? _deletionInsertion;

    /// <summary>Both curves of <see cref="Evaluation.DeletionInsertion"/>, computed once per method however many metrics read them.</summary>
    public (MetricResult Deletion, MetricResult Insertion) DeletionInsertion =>
        _deletionInsertion ??= Evaluation.DeletionInsertion.Evaluate(Model, Inputs, Targets, Maps);
}

/// <summary>One column of the table: a metric by name, its Quantus family, which direction is better, and how it is computed.</summary>
public sealed record MetricSpec(string Name, string Family, Preferred Better, Func<MetricInput, MetricResult> Compute);

/// <summary>
/// Quantus' <c>evaluate</c>: every method × every metric on the same inputs, as one table with each metric's family and
/// direction, and the methods ranked per metric (1 = best). <see cref="Standard"/> is a set of one or two metrics per
/// family with the defaults of the metric classes.
/// </summary>
public static class EvaluationTable
{
    /// <summary>Faithfulness, robustness, complexity and randomization metrics at their defaults.</summary>
    public static IReadOnlyList<MetricSpec> Standard { get; } = new MetricSpec[]
    {
        new("faithfulness_correlation", "faithfulness", Preferred.Higher, m => FaithfulnessCorrelation.Evaluate(m.Model, m.Inputs, m.Targets, m.Maps, seed: m.Seed)),
        new("deletion_auc", "faithfulness", Preferred.Lower, m => m.DeletionInsertion.Deletion),
        new("insertion_auc", "faithfulness", Preferred.Higher, m => m.DeletionInsertion.Insertion),
        new("infidelity", "faithfulness", Preferred.Lower, m => Infidelity.Evaluate(m.Model, m.Inputs, m.Targets, m.Maps, seed: m.Seed)),
        new("max_sensitivity", "robustness", Preferred.Lower, m => Robustness.Evaluate(m.Inputs, m.Targets, m.Explain, seed: m.Seed).MaxSensitivity),
        new("sparseness", "complexity", Preferred.Higher, m => Sparseness.Evaluate(m.Maps)),
        new("complexity", "complexity", Preferred.Lower, m => Complexity.Evaluate(m.Maps)),
        // A map that ignores the class or the weights stays similar: lower similarity is better for both.
        new("random_logit_similarity", "randomization", Preferred.Lower, m => RandomLogit.Evaluate(m.Inputs, m.Targets, m.Classes, m.Explain, m.Seed)),
        new("mprt_similarity_fully_randomized", "randomization", Preferred.Lower, m => ModelParameterRandomization.Evaluate(m.Model, m.Inputs, m.Targets, m.Explain, seed: m.Seed).Layers[^1].Similarity),
    };

    /// <summary>Every method × metric, long format: method, metric, family, better, mean, std, undefined samples, rank.</summary>
    public static DataFrame Evaluate(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, IReadOnlyList<(string Name, AttributionMethod Method)> methods,
        IReadOnlyList<MetricSpec>? metrics = null, int seed = 0, IProgressSink? progress = null) =>
        Evaluate(model, inputs, targets, methods.Select(m => (m.Name, Explainers.From(m.Method))).ToList(), metrics, seed, progress);

    /// <summary>The same for methods given as explainers (any function from inputs and targets to maps).</summary>
    public static DataFrame Evaluate(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, IReadOnlyList<(string Name, Explainer Explain)> methods,
        IReadOnlyList<MetricSpec>? metrics = null, int seed = 0, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(methods);
        MetricTensors.Batch(inputs, nameof(inputs));
        MetricTensors.Targets(targets, inputs.shape[0]);
        metrics ??= Standard;
        if (methods.Count == 0) throw new ArgumentException("methods is empty; give at least one (name, method).", nameof(methods));
        if (metrics.Count == 0) throw new ArgumentException("metrics is empty; give at least one metric (or null for EvaluationTable.Standard).", nameof(metrics));
        foreach (var name in new[] { methods.Select(m => m.Name), metrics.Select(m => m.Name) }.SelectMany(n => n.GroupBy(x => x).Where(g => g.Count() > 1).Select(g => g.Key)))
            throw new ArgumentException($"names must be unique; '{name}' appears twice.", nameof(methods));
        int classes;
        using (torch.no_grad())
        using (Workbench.Models.EvalMode.Enter(model))
        using (var probe = model.call(inputs.narrow(0, 0, 1)))
            classes = (int)probe.shape[^1];
        var rows = new List<(string Method, MetricSpec Metric, MetricResult Result)>();
        using var task = (progress ?? NullProgress.Instance).Start("evaluation table", methods.Count * metrics.Count);
        foreach (var (name, explain) in methods)
        {
            using var scope = torch.NewDisposeScope();
            var input = new MetricInput(model, inputs, targets, explain(inputs, targets), explain, classes, seed);
            foreach (var metric in metrics)
            {
                rows.Add((name, metric, metric.Compute(input)));
                task.Report(rows.Count, $"{name}: {metric.Name}");
            }
        }
        // Rank per metric in its preferred direction; an undefined mean ranks last.
        var rank = new Dictionary<(string, string), int>();
        foreach (var group in rows.GroupBy(r => r.Metric.Name))
        {
            var ordered = group.OrderBy(r => double.IsFinite(r.Result.Mean) ? 0 : 1)
                .ThenBy(r => r.Metric.Better == Preferred.Higher ? -r.Result.Mean : r.Result.Mean).ToList();
            for (int i = 0; i < ordered.Count; i++) rank[(ordered[i].Method, group.Key)] = i + 1;
        }
        return new DataFrame(
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new StringDataFrameColumn("metric", rows.Select(r => r.Metric.Name)),
            new StringDataFrameColumn("family", rows.Select(r => r.Metric.Family)),
            new StringDataFrameColumn("better", rows.Select(r => r.Metric.Better == Preferred.Higher ? "higher" : "lower")),
            new DoubleDataFrameColumn("mean", rows.Select(r => r.Result.Mean)),
            new DoubleDataFrameColumn("std", rows.Select(r => r.Result.Std)),
            new Int32DataFrameColumn("undefined", rows.Select(r => r.Result.Undefined)),
            new Int32DataFrameColumn("rank", rows.Select(r => rank[(r.Method, r.Metric.Name)])));
    }

    /// <summary>The long table as one row per method: each metric's mean in a column named "metric (↑/↓)", and the mean rank.</summary>
    public static DataFrame Wide(DataFrame table)
    {
        ArgumentNullException.ThrowIfNull(table);
        foreach (var column in new[] { "method", "metric", "better", "mean", "rank" })
            if (!table.Columns.Any(c => c.Name == column)) throw new ArgumentException($"table must be EvaluationTable.Evaluate's output; it has no '{column}' column.", nameof(table));
        var rows = Enumerable.Range(0, (int)table.Rows.Count).Select(i => (Method: (string)table["method"][i], Metric: (string)table["metric"][i],
            Better: (string)table["better"][i], Mean: (double)table["mean"][i]!, Rank: (int)table["rank"][i]!)).ToList();
        var methods = rows.Select(r => r.Method).Distinct().ToList();
        var columns = new List<DataFrameColumn> { new StringDataFrameColumn("method", methods) };
        foreach (var metric in rows.GroupBy(r => r.Metric))
        {
            string arrow = metric.First().Better == "higher" ? "↑" : "↓";
            columns.Add(new DoubleDataFrameColumn($"{metric.Key} ({arrow})", methods.Select(m => metric.First(r => r.Method == m).Mean)));
        }
        columns.Add(new DoubleDataFrameColumn("mean_rank", methods.Select(m => rows.Where(r => r.Method == m).Average(r => r.Rank))));
        return new DataFrame(columns);
    }
}
