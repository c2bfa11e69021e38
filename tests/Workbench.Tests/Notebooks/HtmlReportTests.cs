using System.Text.Json.Nodes;
using Workbench.Evaluation;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>Issue #21: the index says when, from which commit, what each notebook is, and which claims fail; provenance reads as a table.</summary>
public class HtmlReportTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("wbreport").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Index_has_date_commit_titles_and_the_claims_that_fail()
    {
        var path = Path.Combine(_dir, "07-demo.ipynb");
        File.WriteAllText(path, new JsonObject
        {
            ["cells"] = new JsonArray(new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = "# Margins along *discriminative* directions\n\ntext" }),
            ["metadata"] = NotebookDocument.DefaultMetadata(), ["nbformat"] = 4, ["nbformat_minor"] = 5,
        }.ToJsonString());
        var runs = new[]
        {
            new NotebookRun(path, "", Path.Combine(_dir, "07-demo.html"), TimeSpan.FromSeconds(150), null,
                new (string, bool)[] { ("small margins at low frequencies", true), ("the pattern flips on flipped data", false) }),
            new NotebookRun(Path.Combine(_dir, "missing.ipynb"), "", "", TimeSpan.FromSeconds(3), new CellFailure(2, "x", "boom"), []),
        };
        var html = HtmlReport.Index(runs, quick: true, when: new DateTimeOffset(2026, 11, 30, 21, 5, 0, TimeSpan.Zero), commit: "abc1234");
        Assert.Contains("Quick mode · 2026-11-30 21:05 UTC · commit <code>abc1234</code> · 1 of 2 notebooks ran", html);
        Assert.Contains("<small>Margins along discriminative directions</small>", html);
        Assert.Contains("1 / 2", html);
        Assert.Contains("does not hold: the pattern flips on flipped data", html);
        Assert.DoesNotContain("does not hold: small margins", html);
        Assert.Contains("2.5 min", html);
        Assert.Contains("failed: boom", html);
    }

    [Fact]
    public void A_displayed_scorecard_reaches_the_index_ranked_and_once()
    {
        var criteria = new[]
        {
            new ScorecardCriterion("deletion_auc", Preferred.Lower, new Dictionary<string, double> { ["Saliency"] = 0.30, ["IG"] = 0.10, ["Random"] = 0.50 }),
            new ScorecardCriterion(AttributionScorecard.RandomizationMetric, Preferred.Lower, new Dictionary<string, double> { ["Saliency"] = 0.2, ["IG"] = 0.1, ["Random"] = 0.9 }),
        };
        var scorecard = AttributionScorecard.Rank(new[] { "Saliency", "IG", "Random" }, criteria);
        var html = Workbench.Interactive.HtmlFormatters.Table(scorecard);
        var card = Assert.Single(ReportMarkers.ScorecardsIn(html));
        Assert.Equal("method", card.Columns[0]);
        Assert.Contains("overall_rank", card.Columns);
        Assert.Contains("passes_randomization_check", card.Columns);
        Assert.DoesNotContain("deletion_auc (↓)", card.Columns); // values stay in the notebook; the index shows ranks
        Assert.Equal(new[] { "IG", "Saliency", "Random" }, card.Ranked().Select(r => r[0]));
        Assert.Empty(ReportMarkers.ClaimsIn(html));

        // A claims table is not a scorecard, and a table without the columns carries neither marker.
        var claims = Workbench.Experiments.ClaimsTable.ToDataFrame(new[] { new Workbench.Experiments.Claim("c", "m", "r", true) });
        Assert.Empty(ReportMarkers.ScorecardsIn(Workbench.Interactive.HtmlFormatters.Table(claims)));
        Assert.Equal(new[] { ("c", true) }, ReportMarkers.ClaimsIn(Workbench.Interactive.HtmlFormatters.Table(claims)));

        var run = new NotebookRun(Path.Combine(_dir, "05-sanity.ipynb"), "", Path.Combine(_dir, "05-sanity.html"), TimeSpan.FromSeconds(60), null, [], new[] { card });
        var index = HtmlReport.Index(new[] { run }, quick: true, commit: "abc");
        Assert.Contains("<h2>Scorecards</h2>", index);
        int ig = index.IndexOf("<td>IG</td>"), saliency = index.IndexOf("<td>Saliency</td>"), random = index.IndexOf("<td>Random</td>");
        Assert.True(ig > 0 && ig < saliency && saliency < random, "rows in overall-rank order");
        Assert.DoesNotContain("Scorecards", HtmlReport.Index(new[] { run with { Scorecards = null } }, quick: true, commit: "abc"));
        Assert.True(card.SameAs(ReportMarkers.ScorecardsIn(html).Single()));
    }

    [Fact]
    public void Provenance_lists_the_parameters_the_run_used_and_a_runnable_command()
    {
        var doc = NotebookDocument.Load(Notebook.Write(_dir, "p.ipynb", "var Quick = true;\nvar Seed = 0;"));
        var declared = new Dictionary<string, NotebookParameter> { ["Quick"] = new("Quick", "bool", "true"), ["Seed"] = new("Seed", "int", "0") };
        var options = new RunOptions { Quick = false, Parameters = new Dictionary<string, string> { ["Width"] = "a b" } };
        var p = Provenance.Collect(options, DateTimeOffset.UtcNow, doc.Path, declared);
        Assert.Equal("0", (string)p["seed"]!);                         // the notebook's default, not "notebook default"
        Assert.Equal("false", (string)p["parameters"]!["Quick"]!);
        Assert.Matches(@"^\./workbench notebook run \S*p\.ipynb --full --param 'Width=a b'$", (string)p["reproduce"]!);
        var report = HtmlReport.Render(doc, p, null);
        Assert.Contains("<td>parameters: Seed</td><td>0</td>", report);
        Assert.DoesNotContain("{\"", report[report.IndexOf("Provenance")..report.IndexOf("</table>", report.IndexOf("Provenance"))]);
    }
}
