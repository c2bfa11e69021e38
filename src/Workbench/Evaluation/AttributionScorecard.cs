using System.Diagnostics;
using Microsoft.Data.Analysis;
using Plotly.NET;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>One column of the scorecard: a criterion's value per method, which direction is better and its weight in the overall rank.</summary>
public sealed record ScorecardCriterion(string Name, Preferred Better, IReadOnlyDictionary<string, double> PerMethod, double Weight = 1)
{
    public string Arrow => Better == Preferred.Higher ? "↑" : "↓";
}

/// <summary>
/// One table that ranks attribution methods by every criterion a reviewer asks about — faithfulness, randomization
/// sensitivity, complexity, robustness and cost, measured here on the given model and inputs, plus any criteria measured
/// elsewhere (axioms kept, localisation, consistency across training sets) — with a rank per criterion and an overall
/// rank: the weighted mean of the ranks (weights shown in the table). The sanity check of Adebayo et al. (2018) is also a
/// verdict: a method whose maps after randomizing every layer still correlate with the original (Spearman of absolute
/// maps ≥ <see cref="RandomizationThreshold"/>) fails it, whatever its other ranks.
/// </summary>
public static class AttributionScorecard
{
    /// <summary>Similarity to the original map above which a method is taken to ignore the weights (fails the sanity check).</summary>
    public const double RandomizationThreshold = 0.5;

    public const string RandomizationMetric = "mprt_similarity_fully_randomized";

    /// <summary>The criteria measured by <see cref="Build(nn.Module{Tensor, Tensor}, Tensor, Tensor, IReadOnlyList{ValueTuple{string, Explainer}}, IEnumerable{ScorecardCriterion}?, int, IProgressSink?)"/>, as metrics of <see cref="EvaluationTable"/>.</summary>
    public static IReadOnlyList<MetricSpec> Metrics { get; } = EvaluationTable.Standard
        .Where(m => m.Name is "deletion_auc" or "insertion_auc" or "max_sensitivity" or "sparseness" or RandomizationMetric).ToList();

    public static DataFrame Build(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, IReadOnlyList<(string Name, AttributionMethod Method)> methods,
        IEnumerable<ScorecardCriterion>? extra = null, int seed = 0, IProgressSink? progress = null) =>
        Build(model, inputs, targets, methods.Select(m => (m.Name, Explainers.From(m.Method))).ToList(), extra, seed, progress);

    /// <summary>
    /// Measures <see cref="Metrics"/> and the cost (milliseconds per image of the call that explains <paramref name="inputs"/>)
    /// for every method, adds the <paramref name="extra"/> criteria (which must name every method), and ranks.
    /// </summary>
    public static DataFrame Build(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, IReadOnlyList<(string Name, Explainer Explain)> methods,
        IEnumerable<ScorecardCriterion>? extra = null, int seed = 0, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(methods);
        var milliseconds = new Dictionary<string, double>();
        // The first call of each explainer is the one that explains the inputs: time it (no extra pass).
        var timed = methods.Select(m => (m.Name, (Explainer)((x, t) =>
        {
            if (milliseconds.ContainsKey(m.Name)) return m.Explain(x, t);
            var clock = Stopwatch.StartNew();
            var maps = m.Explain(x, t);
            milliseconds[m.Name] = clock.Elapsed.TotalMilliseconds / x.shape[0];
            return maps;
        }))).ToList();
        var table = EvaluationTable.Evaluate(model, inputs, targets, timed, Metrics, seed, progress);
        var criteria = FromEvaluation(table);
        criteria.Add(new ScorecardCriterion("ms_per_image", Preferred.Lower, milliseconds));
        if (extra is not null) criteria.AddRange(extra);
        return Rank(methods.Select(m => m.Name).ToList(), criteria);
    }

    /// <summary>Every metric of an <see cref="EvaluationTable.Evaluate(nn.Module{Tensor, Tensor}, Tensor, Tensor, IReadOnlyList{ValueTuple{string, Explainer}}, IReadOnlyList{MetricSpec}?, int, IProgressSink?)"/> table as a criterion.</summary>
    public static List<ScorecardCriterion> FromEvaluation(DataFrame table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var rows = Enumerable.Range(0, (int)table.Rows.Count).Select(i => (Method: (string)table["method"][i], Metric: (string)table["metric"][i],
            Better: (string)table["better"][i], Mean: (double)table["mean"][i]!)).ToList();
        return rows.GroupBy(r => r.Metric).Select(g => new ScorecardCriterion(g.Key, g.First().Better == "higher" ? Preferred.Higher : Preferred.Lower,
            g.ToDictionary(r => r.Method, r => r.Mean))).ToList();
    }

    /// <summary>
    /// The scorecard from criteria: per criterion its value "name (↑/↓)" and its rank (1 = best; an undefined value ranks
    /// last), the sanity-check verdict when the randomization criterion is present, the weighted mean rank and the overall rank.
    /// </summary>
    public static DataFrame Rank(IReadOnlyList<string> methods, IReadOnlyList<ScorecardCriterion> criteria)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(criteria);
        if (methods.Count == 0) throw new ArgumentException("methods is empty; give at least one.", nameof(methods));
        if (criteria.Count == 0) throw new ArgumentException("criteria is empty; give at least one.", nameof(criteria));
        foreach (var c in criteria)
        {
            var missing = methods.Where(m => !c.PerMethod.ContainsKey(m)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"criterion '{c.Name}' has no value for {string.Join(", ", missing)}.", nameof(criteria));
            if (!(c.Weight >= 0)) throw new ArgumentOutOfRangeException(nameof(criteria), c.Weight, $"criterion '{c.Name}' has weight {c.Weight}; weights must be >= 0.");
        }
        if (criteria.Sum(c => c.Weight) <= 0) throw new ArgumentException("criteria weights sum to 0; at least one must be positive.", nameof(criteria));
        var ranks = criteria.Select(c => RanksOf(methods, c)).ToList();
        var columns = new List<DataFrameColumn> { new StringDataFrameColumn("method", methods) };
        for (int j = 0; j < criteria.Count; j++)
            columns.Add(new DoubleDataFrameColumn($"{criteria[j].Name} ({criteria[j].Arrow})", methods.Select(m => criteria[j].PerMethod[m])));
        for (int j = 0; j < criteria.Count; j++)
            columns.Add(new Int32DataFrameColumn($"rank {criteria[j].Name} (w={criteria[j].Weight:G3})", ranks[j]));
        if (criteria.FirstOrDefault(c => c.Name == RandomizationMetric) is { } randomization)
            columns.Add(new BooleanDataFrameColumn("passes_randomization_check", methods.Select(m => randomization.PerMethod[m] < RandomizationThreshold)));
        double total = criteria.Sum(c => c.Weight);
        var score = methods.Select((_, i) => criteria.Select((c, j) => c.Weight * ranks[j][i]).Sum() / total).ToList();
        columns.Add(new DoubleDataFrameColumn("weighted_mean_rank", score));
        var order = score.Select((s, i) => (s, i)).OrderBy(p => p.s).Select(p => p.i).ToList();
        var overall = new int[methods.Count];
        for (int r = 0; r < order.Count; r++) overall[order[r]] = r + 1;
        columns.Add(new Int32DataFrameColumn("overall_rank", overall));
        return new DataFrame(columns);
    }

    static int[] RanksOf(IReadOnlyList<string> methods, ScorecardCriterion c)
    {
        var order = methods.Select((m, i) => (Value: c.PerMethod[m], Index: i))
            .OrderBy(p => double.IsFinite(p.Value) ? 0 : 1).ThenBy(p => c.Better == Preferred.Higher ? -p.Value : p.Value).ToList();
        var ranks = new int[methods.Count];
        for (int r = 0; r < order.Count; r++) ranks[order[r].Index] = r + 1;
        return ranks;
    }

    /// <summary>The scorecard at a glance: ranks, methods × criteria (1 = best, dark), the overall rank last.</summary>
    public static GenericChart Figure(DataFrame scorecard, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(scorecard);
        var rankColumns = scorecard.Columns.Where(c => c.Name.StartsWith("rank ")).Select(c => c.Name).ToList();
        if (rankColumns.Count == 0 || !scorecard.Columns.Any(c => c.Name == "overall_rank"))
            throw new ArgumentException("scorecard must be AttributionScorecard.Rank's output (rank columns and overall_rank).", nameof(scorecard));
        rankColumns.Add("overall_rank");
        int n = (int)scorecard.Rows.Count;
        var methods = Enumerable.Range(0, n).Select(i => (string)scorecard["method"][i]).ToList();
        var values = Enumerable.Range(0, n).Select(i => rankColumns.Select(c => Convert.ToDouble(scorecard[c][i])).ToArray()).ToArray();
        var labels = rankColumns.Select(c => c == "overall_rank" ? "overall" : c["rank ".Length..c.LastIndexOf(" (w=")]).ToList();
        return LineFigures.Table(methods, labels, values, title ?? "Attribution scorecard: rank per criterion (1 = best)", colorscale: "Viridis", format: "0");
    }
}
