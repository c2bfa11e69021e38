using System.Text.Json.Nodes;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Interactive;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Tests.Interactive;

/// <summary>The exercise checks accept the reference answer, refuse an empty or wrong one with a hint.</summary>
public class ExercisesTests
{
    static (nn.Module<Tensor, Tensor> Model, ModelSpec Spec, Tensor Images, long[] Targets) Setup()
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.Seed(3);
        var spec = new ModelSpec("cnn");
        var model = spec.Build();
        model.eval();
        return (model, spec, torch.rand(3, 1, 28, 28), new long[] { 1, 4, 7 });
    }

    [Fact]
    public void Gradient_check_passes_the_reference_and_fails_null_and_a_wrong_answer()
    {
        var (model, _, images, targets) = Setup();
        var reference = new Saliency(model, absolute: false).Attribute(images, Target.PerExample(targets)).Map;
        var passed = Exercises.CheckGradient(model, images, targets, reference);
        Assert.True(passed.Passed);
        var empty = Exercises.CheckGradient(model, images, targets, null);
        var summary = Exercises.Summary(passed, empty);
        Assert.Equal(new bool?[] { true, false }, summary["passed"].Cast<bool?>());
        Assert.False(empty.Passed);
        Assert.Contains("no answer", empty.Measured);
        Assert.False(Exercises.CheckGradient(model, images, targets, reference.abs()).Passed);  // the sign dropped
        Assert.Contains("shape", Exercises.CheckGradient(model, images, targets, reference[..2]).Measured);
    }

    [Fact]
    public void Integrated_gradients_check_wants_the_right_riemann_sum_and_reports_completeness()
    {
        var (model, _, images, targets) = Setup();
        var baseline = torch.zeros_like(images[..1]);
        var right = new IntegratedGradients(model, 16, IntegrationRule.RiemannRight).Attribute(images, Target.PerExample(targets), baselines: baseline).Map;
        var left = new IntegratedGradients(model, 16, IntegrationRule.RiemannLeft).Attribute(images, Target.PerExample(targets), baselines: baseline).Map;
        var pass = Exercises.CheckIntegratedGradients(model, images, baseline, targets, 16, right);
        Assert.True(pass.Passed, pass.ToString());
        Assert.Contains("completeness error", pass.Measured);
        Assert.False(Exercises.CheckIntegratedGradients(model, images, baseline, targets, 16, left).Passed);
    }

    [Fact]
    public void SmoothGrad_check_refuses_the_plain_gradient()
    {
        var (model, _, images, targets) = Setup();
        var plain = new Saliency(model, absolute: false).Attribute(images, Target.PerExample(targets)).Map;
        Assert.False(Exercises.CheckSmoothGrad(model, images, targets, 0.15, plain).Passed);
        Assert.False(Exercises.CheckSmoothGrad(model, images, targets, 0.15, null).Passed);
    }

    [Fact]
    public void Randomization_check_recomputes_the_value_with_the_same_seed()
    {
        var (model, spec, images, targets) = Setup();
        var before = new Saliency(model, absolute: false).Attribute(images, Target.PerExample(targets)).Map;
        using var randomized = Exercises.WithRandomizedLayer(spec, model, "fc2", 5);
        var after = new Saliency(randomized, absolute: false).Attribute(images, Target.PerExample(targets)).Map;
        double value = Workbench.Evaluation.SpearmanRankCorrelation.Evaluate(before, after, absolute: true).Mean;
        Assert.True(Exercises.CheckRandomizationSimilarity(spec, model, images, targets, "fc2", 5, value).Passed);
        Assert.False(Exercises.CheckRandomizationSimilarity(spec, model, images, targets, "fc2", 5, value + 0.01).Passed);
        // The original model was not touched by the randomized copy.
        Assert.Equal(0, (new Saliency(model, absolute: false).Attribute(images, Target.PerExample(targets)).Map - before).abs().max().item<float>());
        var e = Assert.Throws<ArgumentException>(() => Exercises.RandomizeLayer(randomized, "nope", 0));
        Assert.Equal("layer", e.ParamName);
    }

    [Fact]
    public void Slider_figure_shows_one_step_at_a_time()
    {
        var figure = SliderFigure.Over("σ", new[] { 0.1, 0.2, 0.3 }, s =>
            Plotly.NET.CSharp.Chart.Line<double, double, string>(x: new[] { 0.0, 1.0 }, y: new[] { s, 2 * s }));
        var json = JsonNode.Parse(figure.ToFigureJson())!;
        var data = json["data"]!.AsArray();
        Assert.Equal(3, data.Count);
        Assert.Equal(new[] { true, false, false }, data.Select(t => (bool)t!["visible"]!));
        var steps = json["layout"]!["sliders"]![0]!["steps"]!.AsArray();
        Assert.Equal(new[] { "0.1", "0.2", "0.3" }, steps.Select(s => (string)s!["label"]!));
        Assert.Equal(new[] { false, true, false }, steps[1]!["args"]![0]!["visible"]!.AsArray().Select(v => (bool)v!));
        Assert.Throws<ArgumentException>(() => SliderFigure.Over("σ", Array.Empty<double>(), _ => Plotly.NET.CSharp.Chart.Line<double, double, string>(x: new[] { 0.0 }, y: new[] { 0.0 })));
    }

    /// <summary>Issue #21: a long table shows 25 rows and keeps every row behind a toggle; text left-aligned, numbers right-aligned.</summary>
    [Fact]
    public void Long_tables_expand_and_align_text_left()
    {
        var frame = new Microsoft.Data.Analysis.DataFrame(
            new Microsoft.Data.Analysis.StringDataFrameColumn("method", Enumerable.Range(0, 40).Select(i => $"m{i}")),
            new Microsoft.Data.Analysis.DoubleDataFrameColumn("score", Enumerable.Range(0, 40).Select(i => i / 10.0)));
        var html = HtmlFormatters.Table(frame);
        var (shown, all) = (html[..html.IndexOf("<details")], html[html.IndexOf("<details")..]);
        Assert.Equal(25, System.Text.RegularExpressions.Regex.Matches(shown, "<tr><td").Count);
        Assert.Equal(40, System.Text.RegularExpressions.Regex.Matches(all, "<tr><td").Count);
        Assert.Contains("show all 40 rows", all);
        Assert.Contains("<td style=\"text-align:left\">m39</td>", all);
        Assert.Contains("<td style=\"text-align:right\">3.9</td>", all);
        Assert.DoesNotContain("<details", HtmlFormatters.Table(frame.Head(10)));
    }
}
