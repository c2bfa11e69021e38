using Microsoft.Data.Analysis;
using TorchSharp;
using Workbench.Attribution;
using static TorchSharp.torch;

namespace Workbench.Experiments.AttributionAxioms;

/// <summary>
/// What a tour method needs besides the model: the layer the CAM family reads, the images' size (feature masks of the
/// perturbation methods), the patch the perturbation methods move together (a 7×7 grid of patches by default: 4 pixels
/// on 28×28), the sample budgets (LIME and KernelSHAP samples, RISE masks, Shapley permutations) and the seed.
/// </summary>
public sealed record MethodSetup(string Layer, long Height, long Width, int Patch = 0, int Samples = 500, int RiseMasks = 2000, int Permutations = 25, int Seed = 0)
{
    public int Patch { get; init; } = Patch > 0 ? Patch : (int)Math.Max(1, Math.Min(Height, Width) / 7);


    /// <summary>Patches of <see cref="Patch"/> pixels: the features of LIME, KernelSHAP and Shapley value sampling.</summary>
    public Tensor PatchMask() => FeatureMasks.Grid(Height, Width, Patch);
}

/// <summary>One method of the tour: its name, family, the paper it comes from and what it is built on, and how to build it.</summary>
/// <param name="ImagesOnly">Defined on images only (the CAM family reads a conv layer, RISE draws 2-D masks): not run on the tabular axiom probes.</param>
public sealed record TourMethod(string Name, string Family, string Reference, string BuiltOn, bool ImagesOnly,
    Func<nn.Module<Tensor, Tensor>, MethodSetup, AttributionMethod> Make);

/// <summary>
/// The methods of the essay on attribution (seed 002: Grad-CAM, RISE, integrated gradients and its axioms, LIME, SHAP,
/// DeepLIFT, LRP) and of the sanity checks, one catalogue shared by E4, E5 and the scorecard. Defaults are the
/// libraries' (Captum, pytorch-grad-cam) unless stated: SmoothGrad σ = 15 % of the input range with 50 samples,
/// IG 50 steps from a black baseline; the budgets of the perturbation methods come from <see cref="MethodSetup"/>: occlusion
/// with windows of one patch and stride half a patch (4×4 and 2 on 28×28, Captum's tutorial choice), RISE 2,000 masks on a
/// 7×7 grid, LIME / KernelSHAP 500 samples over the patches, Shapley value sampling 25 permutations over the same patches.
/// </summary>
public static class AttributionTour
{
    public static IReadOnlyList<TourMethod> Methods { get; } = new TourMethod[]
    {
        new("Gradient", "gradient", "Simonyan et al., 2014", "local sensitivity ∂F/∂x", false, (m, _) => new Saliency(m, absolute: false)),
        new("InputXGradient", "gradient", "Shrikumar et al., 2016", "first-order Taylor term x·∂F/∂x", false, (m, _) => new InputXGradient(m)),
        new("SmoothGrad", "gradient", "Smilkov et al., 2017", "gradient averaged over Gaussian noise", false,
            (m, s) => new NoiseTunnel(new Saliency(m, absolute: false), samples: 50, sigmaFraction: 0.15, seed: s.Seed)),
        new("IntegratedGradients", "path", "Sundararajan et al., 2017", "completeness and implementation invariance (path integral)", false,
            (m, _) => new IntegratedGradients(m, 50)),
        new("GradientShap", "path", "Lundberg & Lee, 2017", "expected gradients: IG at random points of the path", false,
            (m, s) => new GradientShap(m, samples: 50, seed: s.Seed)),
        new("DeepLift", "modified backprop", "Shrikumar et al., 2017", "summation-to-delta (rescale rule)", false, (m, _) => new DeepLift(m)),
        new("LRP-ε", "modified backprop", "Bach et al., 2015; Montavon et al., 2019", "relevance conservation layer by layer", false,
            (m, _) => new Lrp(m, LrpComposite.EpsilonPlus(1e-6))),
        new("GuidedBackprop", "modified backprop", "Springenberg et al., 2015", "only positive gradients through ReLUs", false, (m, _) => new GuidedBackprop(m)),
        new("Deconvolution", "modified backprop", "Zeiler & Fergus, 2014", "the ReLU applied to the gradient", false, (m, _) => new Deconvolution(m)),
        new("GradCam", "CAM", "Selvaraju et al., 2017", "class-discriminative localisation at a conv layer", true, (m, s) => new GradCam(m, s.Layer)),
        new("GuidedGradCam", "CAM", "Selvaraju et al., 2017", "Grad-CAM × guided backprop (sharp and class-discriminative)", true,
            (m, s) => new GuidedGradCam(m, s.Layer)),
        new("CounterfactualGradCam", "CAM", "Selvaraju et al., 2017", "negated gradients: evidence against the class", true,
            (m, s) => new GradCam(m, s.Layer, counterfactual: true)),
        new("Occlusion", "perturbation", "Zeiler & Fergus, 2014", "output drop when a window is greyed out", false,
            (m, s) => new Occlusion(m, window: s.Patch, stride: Math.Max(1, s.Patch / 2))),
        new("RISE", "perturbation", "Petsiuk et al., 2018", "output-weighted average of random masks (no gradients)", true,
            (m, s) => new Rise(m, masks: s.RiseMasks, seed: s.Seed)),
        new("LIME", "surrogate", "Ribeiro et al., 2016", "local linear surrogate on superpixels", false,
            (m, s) => new Lime(m, s.PatchMask(), samples: s.Samples, seed: s.Seed)),
        new("KernelSHAP", "surrogate", "Lundberg & Lee, 2017", "Shapley-kernel weighted regression: local accuracy, missingness, consistency", false,
            (m, s) => new KernelShap(m, s.PatchMask(), samples: s.Samples, seed: s.Seed)),
        new("ShapleyValueSampling", "Shapley", "Castro et al., 2009; Štrumbelj & Kononenko, 2014", "Shapley values by permutation sampling", false,
            (m, s) => new ShapleyValueSampling(m, s.PatchMask(), permutations: s.Permutations, seed: s.Seed)),
    };

    /// <summary>The catalogue's methods by name, in the catalogue's order; an unknown name is an error listing the known ones.</summary>
    public static IReadOnlyList<TourMethod> Select(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return names.Select(n => Methods.FirstOrDefault(m => m.Name == n)
            ?? throw new ArgumentException($"no tour method named '{n}'; known: {string.Join(", ", Methods.Select(m => m.Name))}.", nameof(names))).ToList();
    }

    /// <summary>The catalogue as a table: method, family, paper, what it is built on.</summary>
    public static DataFrame Catalogue(IReadOnlyList<TourMethod>? methods = null)
    {
        methods ??= Methods;
        return new DataFrame(
            new StringDataFrameColumn("method", methods.Select(m => m.Name)),
            new StringDataFrameColumn("family", methods.Select(m => m.Family)),
            new StringDataFrameColumn("paper", methods.Select(m => m.Reference)),
            new StringDataFrameColumn("built on", methods.Select(m => m.BuiltOn)));
    }
}
