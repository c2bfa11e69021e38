using TorchSharp;
using Workbench.Experiments.AttributionAxioms;
using Workbench.Runtime;

namespace Workbench.Tests.Experiments;

public class AttributionAxiomsTests
{
    public AttributionAxiomsTests() => TorchRuntime.EnsureLoaded();

    static AxiomMeasurement Of(string method, string axiom) =>
        AxiomProbes.Measure(AttributionTour.Select(method)[0]).Single(m => m.Axiom == axiom);

    [Fact]
    public void The_gradient_is_zero_where_the_function_saturates_but_integrated_gradients_is_not()
    {
        // f = 1 − ReLU(1 − x₁) at x₁ = 2: ∂f/∂x₁ = 0, IG = ∫ ∂f/∂x₁ (t·2) · 2 dt = 1 (the IG paper's sensitivity example).
        var gradient = Of("Gradient", "sensitivity(a)");
        Assert.Equal(0, gradient.Measured, 6);
        Assert.False(gradient.Holds);
        var ig = Of("IntegratedGradients", "sensitivity(a)");
        Assert.Equal(1, ig.Measured, 2);
        Assert.True(ig.Holds);
        Assert.True(Of("Occlusion", "sensitivity(a)").Holds); // occluding x₁ drops f from 1 to 0
    }

    [Fact]
    public void DeepLift_gives_two_implementations_of_one_function_different_maps()
    {
        // Rescale rule by hand: f → (1.5, −0.5), g → (2, −1); the largest difference is 0.5. IG and the gradient agree.
        var deepLift = Of("DeepLift", "implementation invariance");
        Assert.Equal(0.5, deepLift.Measured, 4);
        Assert.False(deepLift.Holds);
        Assert.True(Of("IntegratedGradients", "implementation invariance").Holds);
        Assert.True(Of("Gradient", "implementation invariance").Holds);
    }

    [Fact]
    public void Missingness_fails_for_the_gradient_and_holds_for_input_times_gradient()
    {
        // f = ReLU(x₁ + x₂) at (1.5, 0): ∂f/∂x₂ = 1, x₂·∂f/∂x₂ = 0.
        Assert.Equal(1, Of("Gradient", "missingness").Measured, 6);
        Assert.True(Of("InputXGradient", "missingness").Holds);
        Assert.True(Of("KernelSHAP", "missingness").Holds);
    }

    [Fact]
    public void Symmetric_inputs_of_a_symmetric_function_get_equal_attributions_from_path_methods()
    {
        Assert.True(Of("IntegratedGradients", "symmetry").Holds);
        Assert.True(Of("DeepLift", "symmetry").Holds);
        Assert.True(Of("Gradient", "linearity").Holds);
        Assert.True(Of("IntegratedGradients", "linearity").Holds);
    }

    [Fact]
    public void Image_only_methods_are_not_probed_and_unknown_names_are_refused()
    {
        Assert.Empty(AxiomProbes.Measure(AttributionTour.Select("GradCam")[0]));
        var e = Assert.Throws<ArgumentException>(() => AttributionTour.Select("Gradcam"));
        Assert.Contains("GradCam", e.Message);
    }
}
