using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Evaluation;

public class AttributionScorecardTests
{
    public AttributionScorecardTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Logit 0 = w·x + b over 16 pixels, logit 1 = 0: the target's probability is monotone in w·x, so removing
    /// pixels in the order of w_i·x_i (input × gradient) is the optimal deletion order.</summary>
    static nn.Module<Tensor, Tensor> LinearModel()
    {
        var linear = nn.Linear(16, 2);
        using (torch.no_grad())
        {
            using var g = new torch.Generator(3);
            linear.weight!.copy_(torch.cat(new[] { torch.randn(1, 16, generator: g), torch.zeros(1, 16) }, 0));
            linear.bias!.zero_();
        }
        var model = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        model.eval();
        return model;
    }

    [Fact]
    public void A_faithful_method_ranks_first_on_faithfulness_and_methods_that_ignore_the_model_fail_the_randomization_check()
    {
        using var model = LinearModel();
        using var g = new torch.Generator(5);
        using var inputs = torch.rand(new long[] { 8, 1, 4, 4 }, generator: g);
        using var targets = torch.zeros(8, ScalarType.Int64);
        var ixg = Explainers.From(new InputXGradient(model));
        Explainer randomMap = (x, _) => { using var r = new torch.Generator(11); return torch.rand(x.shape, generator: r); };
        Explainer inputAsMap = (x, _) => x.clone();
        var card = AttributionScorecard.Build(model, inputs, targets, new (string, Explainer)[] { ("random map", randomMap), ("input", inputAsMap), ("input×gradient", ixg) });

        int Row(string method) => Enumerable.Range(0, (int)card.Rows.Count).Single(i => (string)card["method"][i] == method);
        int best = Row("input×gradient");
        Assert.Equal(1, (int)card["rank deletion_auc (w=1)"][best]!);
        Assert.Equal(1, (int)card["rank insertion_auc (w=1)"][best]!);
        Assert.True((bool)card["passes_randomization_check"][best]!);
        Assert.False((bool)card["passes_randomization_check"][Row("random map")]!);
        Assert.False((bool)card["passes_randomization_check"][Row("input")]!);
        Assert.Equal(1.0, (double)card["mprt_similarity_fully_randomized (↓)"][Row("input")]!, 6);
        Assert.True((double)card["ms_per_image (↓)"][best]! > 0);
        var overall = Enumerable.Range(0, 3).Select(i => (int)card["overall_rank"][i]!).OrderBy(r => r);
        Assert.Equal(new[] { 1, 2, 3 }, overall);
        Assert.NotNull(AttributionScorecard.Figure(card));
    }

    [Fact]
    public void Ranks_follow_each_direction_and_the_weights_and_bad_criteria_are_refused()
    {
        var methods = new[] { "a", "b", "c" };
        var higher = new ScorecardCriterion("accuracy", Preferred.Higher, new Dictionary<string, double> { ["a"] = 0.9, ["b"] = 0.5, ["c"] = double.NaN });
        var lower = new ScorecardCriterion("cost", Preferred.Lower, new Dictionary<string, double> { ["a"] = 10, ["b"] = 1, ["c"] = 5 }, Weight: 3);
        var card = AttributionScorecard.Rank(methods, new[] { higher, lower });
        Assert.Equal(new[] { 1, 2, 3 }, Enumerable.Range(0, 3).Select(i => (int)card["rank accuracy (w=1)"][i]!)); // NaN ranks last
        Assert.Equal(new[] { 3, 1, 2 }, Enumerable.Range(0, 3).Select(i => (int)card["rank cost (w=3)"][i]!));
        // Weighted mean ranks: a (1 + 9) / 4 = 2.5, b (2 + 3) / 4 = 1.25, c (3 + 6) / 4 = 2.25.
        Assert.Equal(new[] { 2.5, 1.25, 2.25 }, Enumerable.Range(0, 3).Select(i => (double)card["weighted_mean_rank"][i]!));
        Assert.Equal(new[] { 3, 1, 2 }, Enumerable.Range(0, 3).Select(i => (int)card["overall_rank"][i]!));

        var partial = new ScorecardCriterion("x", Preferred.Higher, new Dictionary<string, double> { ["a"] = 1 });
        Assert.Contains("b, c", Assert.Throws<ArgumentException>(() => AttributionScorecard.Rank(methods, new[] { partial })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttributionScorecard.Rank(methods, new[] { higher with { Weight = -1 } }));
    }
}
