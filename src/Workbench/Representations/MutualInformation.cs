using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>
/// A decoder-based estimate of a mutual information (Darlow &amp; Storkey, 2020, Sec. 3): I(a; h) ≥ E log q(a|h) + H(a), the
/// expectation over held-out pairs and q a decoder trained on other pairs. Null numbers and a status when the decoder diverged.
/// </summary>
/// <param name="Bound">E log q(a|h) + H(a), in nats.</param>
/// <param name="LogLikelihood">E log q(a|h) on the held-out pairs (≤ 0: a discrete likelihood).</param>
/// <param name="Entropy">The H(a) used (see <see cref="MutualInformation"/>).</param>
public sealed record InformationBound(double? Bound, double? LogLikelihood, double Entropy, string Status)
{
    public bool Ok => Status == "ok";
}

/// <summary>
/// The two bounds of information-plane tracking (Darlow &amp; Storkey, <i>What Information Does a ResNet Compress?</i>, 2020).
/// <para>
/// I(y; h) ≥ H(y) + E log q(y|h): q a softmax classifier on h (a <see cref="Probe"/>), H(y) the entropy of the empirical
/// label distribution of the held-out set — a lower bound (up to the estimation error of the expectation).
/// </para>
/// <para>
/// I(x; h) ≥ H(x) + E log q(x|h): x binarised at 0.5 (so that q(x|h) is a probability, not a density), q an MLP decoder
/// giving an independent Bernoulli per pixel (the paper uses a conditional PixelCNN++). H(x) of binarised images is not
/// known; we use Ĥ(x) = −E log q₀(x), q₀ the pixels' marginal Bernoulli fitted on the training pairs. Ĥ(x) ≥ H(x) (it
/// ignores the pixels' dependence), so the number is the information about x that the decoder family can use — the gain in
/// log-likelihood from knowing h over the marginal — comparable across layers, checkpoints and training modes, but not a
/// certified bound. It is ≤ Ĥ(x) by construction (log q ≤ 0).
/// </para>
/// </summary>
public static class MutualInformation
{
    /// <summary>Binary images {0, 1}: pixels above <paramref name="threshold"/> (a fixed binarisation, not sampled).</summary>
    public static Tensor Binarize(Tensor images, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(images);
        return images.gt(threshold).to_type(ScalarType.Float32);
    }

    /// <summary>Ĥ(x) = −E_test log q₀(x), q₀ the per-pixel Bernoulli marginals of <paramref name="fitImages"/> (clamped to [1e-3, 1 − 1e-3]).</summary>
    public static double FactorizedEntropy(Tensor fitImages, Tensor testImages)
    {
        CheckBinary(fitImages, nameof(fitImages));
        CheckBinary(testImages, nameof(testImages));
        using var scope = torch.NewDisposeScope();
        var p = fitImages.reshape(fitImages.shape[0], -1).to_type(ScalarType.Float64).mean(new long[] { 0 }).clamp(1e-3, 1 - 1e-3);
        var x = testImages.reshape(testImages.shape[0], -1).to_type(ScalarType.Float64);
        return -(x * p.log() + (1 - x) * (1 - p).log()).sum(new long[] { 1 }).mean().item<double>();
    }

    /// <summary>H(y) of the empirical distribution of <paramref name="labels"/> [N] (int64), in nats.</summary>
    public static double LabelEntropy(Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.dim() != 1 || labels.shape[0] < 1 || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"labels must be class indices [N] int64 with N >= 1; got [{string.Join(", ", labels.shape)}] {labels.dtype}.", nameof(labels));
        var counts = labels.bincount(null).to_type(ScalarType.Float64).data<double>().ToArray();
        double n = counts.Sum();
        return -counts.Where(c => c > 0).Sum(c => c / n * Math.Log(c / n));
    }

    /// <summary>The I(x; h) estimate: a Bernoulli decoder trained on (fit features, fit binary images), scored on the test pair.</summary>
    public static InformationBound InputInformation(Tensor fitFeatures, Tensor fitImages, Tensor testFeatures, Tensor testImages, ProbeOptions? decoder = null,
        IProgressSink? progress = null)
    {
        double entropy = FactorizedEntropy(fitImages, testImages);
        return Bound(fitFeatures, fitImages, testFeatures, testImages, ProbeLikelihood.Bernoulli, entropy, decoder, progress);
    }

    /// <summary>The I(y; h) bound: a softmax classifier trained on (fit features, fit labels), scored on the test pair; H(y) of the test labels.</summary>
    public static InformationBound LabelInformation(Tensor fitFeatures, Tensor fitLabels, Tensor testFeatures, Tensor testLabels, ProbeOptions? classifier = null,
        IProgressSink? progress = null) =>
        Bound(fitFeatures, fitLabels, testFeatures, testLabels, ProbeLikelihood.Categorical, LabelEntropy(testLabels), classifier, progress);

    static InformationBound Bound(Tensor fitFeatures, Tensor fitTargets, Tensor testFeatures, Tensor testTargets, ProbeLikelihood likelihood, double entropy,
        ProbeOptions? options, IProgressSink? progress)
    {
        using var probe = Probe.Fit(fitFeatures, fitTargets, likelihood, options, progress);
        if (probe.Outcome.Diverged) return new InformationBound(null, null, entropy, probe.Outcome.Failure!);
        var evaluation = probe.Evaluate(testFeatures, testTargets);
        if (!double.IsFinite(evaluation.LogLikelihood))
            return new InformationBound(null, null, entropy, $"decoder diverged: its held-out log-likelihood is {evaluation.LogLikelihood}");
        return new InformationBound(entropy + evaluation.LogLikelihood, evaluation.LogLikelihood, entropy, "ok");
    }

    static void CheckBinary(Tensor images, string name)
    {
        ArgumentNullException.ThrowIfNull(images, name);
        if (images.dim() < 2 || images.shape[0] < 1)
            throw new ArgumentException($"{name} must be a non-empty batch [N, ...]; got [{string.Join(", ", images.shape)}].", name);
        if (!images.eq(0).logical_or(images.eq(1)).all().item<bool>())
            throw new ArgumentException($"{name} must be binary pixels in {{0, 1}} (MutualInformation.Binarize first).", name);
    }
}
