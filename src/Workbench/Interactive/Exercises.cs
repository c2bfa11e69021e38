using System.Net;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using static TorchSharp.torch;

namespace Workbench.Interactive;

/// <summary>The verdict on one exercise: passed or not, what was measured, and a hint when it failed.</summary>
public sealed record ExerciseResult(string Exercise, bool Passed, string Measured, string Hint)
{
    public override string ToString() => Passed ? $"✓ {Exercise}: passed ({Measured})" : $"✗ {Exercise}: not yet ({Measured}). Hint: {Hint}";

    /// <summary>HTML for the notebook; the data attribute lets a run count passes and failures.</summary>
    public string ToHtml() =>
        $"<div class=\"wb-exercise\" data-workbench-exercise=\"{(Passed ? "pass" : "fail")}\" style=\"padding:6px 10px;border-left:4px solid {(Passed ? "#2e7d32" : "#c62828")}\">" +
        $"<b>{(Passed ? "✓" : "✗")} {WebUtility.HtmlEncode(Exercise)}</b>: {(Passed ? "passed" : "not yet")} — {WebUtility.HtmlEncode(Measured)}" +
        (Passed ? "" : $"<br/><i>Hint:</i> {WebUtility.HtmlEncode(Hint)}") + "</div>";

    static ExerciseResult() => Formatter.Register<ExerciseResult>((r, w) => w.Write(r.ToHtml()), HtmlFormatter.MimeType);
}

/// <summary>
/// Self-checks for the attribution course (notebooks/10-exercises-attribution.ipynb): each compares a student's
/// answer with the library's reference implementation of the same quantity and says what differs. An empty
/// answer (null) fails with a hint; nothing here throws on a wrong answer, so a class can run every cell.
/// </summary>
public static class Exercises
{
    /// <summary>Exercise 1: the gradient of the target logit with respect to the input (signed), for every image.</summary>
    public static ExerciseResult CheckGradient(nn.Module<Tensor, Tensor> model, Tensor images, long[] targets, Tensor? answer)
    {
        const string name = "gradient map";
        if (answer is null) return Missing(name, "take x.requires_grad_(), pick each image's target logit with gather, call backward() on their sum and read x.grad.");
        using var scope = NewDisposeScope();
        var reference = new Saliency(model, absolute: false).Attribute(images, Target.PerExample(targets)).Map;
        return Compare(name, answer, reference, 1e-4,
            "the map should equal ∂f_target/∂x: keep the sign (no abs), use each image's own target, and do not average over the batch.");
    }

    /// <summary>
    /// Exercise 2: Integrated Gradients with your own right Riemann sum, (x − x′) · (1/m) Σ_{k=1..m} ∇f(x′ + (k/m)(x − x′)),
    /// and its completeness: the map's sum should approach f(x) − f(x′) as m grows (Sundararajan et al. 2017, Eq. 3).
    /// </summary>
    public static ExerciseResult CheckIntegratedGradients(nn.Module<Tensor, Tensor> model, Tensor images, Tensor baseline, long[] targets, int steps, Tensor? answer)
    {
        const string name = "integrated gradients (right Riemann sum)";
        if (answer is null) return Missing(name, "loop k = 1..steps, evaluate the gradient at x′ + (k/steps)(x − x′), average the gradients and multiply by (x − x′).");
        using var scope = NewDisposeScope();
        var reference = new IntegratedGradients(model, steps, IntegrationRule.RiemannRight)
            .Attribute(images, Target.PerExample(targets), baselines: baseline).Map;
        var result = Compare(name, answer, reference, 1e-4,
            "check the points (k = 1..steps, not 0..steps−1), the 1/steps weight, and the final multiplication by (x − x′).");
        if (!result.Passed) return result;
        using var _ = no_grad();
        var gap = (model.call(images) - model.call(baseline.expand_as(images))).gather(1, tensor(targets).unsqueeze(1)).squeeze(1);
        var completeness = (answer.flatten(1).sum(1) - gap).abs().max().item<float>();
        return result with { Measured = $"{result.Measured}; completeness error max |Σ map − (f(x) − f(x′))| = {completeness:G3}" };
    }

    /// <summary>
    /// Exercise 3: SmoothGrad (Smilkov et al. 2017): the mean gradient over <paramref name="samples"/> noisy copies
    /// x + N(0, σ²), σ = <paramref name="sigmaFraction"/> · (max − min) of each image. Noise differs between your run and
    /// the reference, so the check is statistical: rank agreement with a 200-sample reference, and closer to it than the plain gradient.
    /// </summary>
    public static ExerciseResult CheckSmoothGrad(nn.Module<Tensor, Tensor> model, Tensor images, long[] targets, double sigmaFraction, Tensor? answer)
    {
        const string name = "SmoothGrad";
        if (answer is null) return Missing(name, "repeat: add torch.randn_like(x) * σ to x, take the gradient map; then average the maps.");
        using var scope = NewDisposeScope();
        var target = Target.PerExample(targets);
        var reference = new NoiseTunnel(new Saliency(model, absolute: false), samples: 200, sigmaFraction: sigmaFraction, seed: 12345).Attribute(images, target).Map;
        var plain = new Saliency(model, absolute: false).Attribute(images, target).Map;
        if (!answer.shape.SequenceEqual(reference.shape)) return WrongShape(name, answer, reference);
        double toReference = SpearmanRankCorrelation.Evaluate(answer, reference, absolute: false).Mean;
        double plainToReference = SpearmanRankCorrelation.Evaluate(plain, reference, absolute: false).Mean;
        bool passed = toReference >= 0.8 && toReference > plainToReference;
        return new ExerciseResult(name, passed,
            $"signed Spearman with a 200-sample reference {toReference:F3} (the plain gradient's: {plainToReference:F3})",
            "σ is a fraction of each image's value range (max − min), the noise is Gaussian, and the maps are averaged, not summed.");
    }

    /// <summary>
    /// Exercise 4, the sanity check of Adebayo et al. (2018): re-initialize the final layer with
    /// <see cref="WithRandomizedLayer"/> and measure the mean absolute-map Spearman between the trained and the randomized
    /// model's gradient maps. A method that explains the model must change: the answer is that number.
    /// </summary>
    public static ExerciseResult CheckRandomizationSimilarity(Models.ModelSpec spec, nn.Module<Tensor, Tensor> model, Tensor images, long[] targets, string layer, int seed, double? answer)
    {
        const string name = "model randomization check";
        if (answer is null) return Missing(name, "take WithRandomizedLayer(spec, model, layer, seed), compute both models' gradient maps and SpearmanRankCorrelation.Evaluate(a, b, absolute: true).Mean.");
        using var scope = NewDisposeScope();
        var target = Target.PerExample(targets);
        var original = new Saliency(model, absolute: false).Attribute(images, target).Map;
        using var randomized = WithRandomizedLayer(spec, model, layer, seed);
        var after = new Saliency(randomized, absolute: false).Attribute(images, target).Map;
        double expected = SpearmanRankCorrelation.Evaluate(original, after, absolute: true).Mean;
        bool passed = Math.Abs(answer.Value - expected) < 1e-3;
        return new ExerciseResult(name, passed, $"your value {answer.Value:F4}, the reference {expected:F4}",
            "use absolute maps (absolute: true, the sanity-check paper's convention), the same seed and layer, and the mean over images.");
    }

    /// <summary>Re-initializes the weights and bias of the named layer with N(0, 0.01²) from a seeded generator, in place.</summary>
    public static void RandomizeLayer(nn.Module<Tensor, Tensor> model, string layer, int seed)
    {
        var parameters = model.named_parameters().Where(p => p.name.StartsWith(layer + ".", StringComparison.Ordinal)).ToList();
        if (parameters.Count == 0)
            throw new ArgumentException($"layer '{layer}' has no parameters; the model's parameters are: {string.Join(", ", model.named_parameters().Select(p => p.name))}", nameof(layer));
        var generator = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (_, p) in parameters) p.copy_(torch.randn(p.shape, generator: generator) * 0.01);
    }

    /// <summary>A copy of <paramref name="model"/> (built from <paramref name="spec"/>, its trained state copied) with the
    /// named layer re-initialized by <see cref="RandomizeLayer"/>; the original is untouched.</summary>
    public static nn.Module<Tensor, Tensor> WithRandomizedLayer(Models.ModelSpec spec, nn.Module<Tensor, Tensor> model, string layer, int seed)
    {
        var copy = spec.Build();
        var state = model.state_dict();
        using (no_grad())
            foreach (var (key, value) in copy.state_dict()) value.copy_(state[key]);
        copy.eval();
        RandomizeLayer(copy, layer, seed);
        return copy;
    }

    static ExerciseResult Compare(string name, Tensor answer, Tensor reference, double tolerance, string hint)
    {
        if (!answer.shape.SequenceEqual(reference.shape)) return WrongShape(name, answer, reference);
        var a = answer.detach().to(reference.dtype);
        double scale = Math.Max(reference.abs().max().item<float>(), 1e-12);
        double error = (a - reference).abs().max().item<float>() / scale;
        return new ExerciseResult(name, error <= tolerance, $"max |yours − reference| / max |reference| = {error:G3} (tolerance {tolerance:G1})", hint);
    }

    static ExerciseResult Missing(string name, string hint) => new(name, false, "no answer yet (null)", hint);

    static ExerciseResult WrongShape(string name, Tensor answer, Tensor reference) =>
        new(name, false, $"shape [{string.Join(", ", answer.shape)}], expected [{string.Join(", ", reference.shape)}]",
            "return one map per image with the input's shape (batch first).");
}
