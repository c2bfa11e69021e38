using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

/// <summary>The CAM family against its papers' definitions on one-conv networks whose gradients have closed forms.</summary>
public class CamFamilyTests
{
    /// <summary>conv (1->2, 3x3, padding 1) - relu "act" - then either global average pooling or flatten - linear "fc" (-> 2).</summary>
    static nn.Module<Tensor, Tensor> OneConv(int seed, bool pool)
    {
        TorchRuntime.Seed(seed);
        var m = pool
            ? nn.Sequential(("conv", nn.Conv2d(1, 2, 3, padding: 1)), ("act", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(2, 2)))
            : nn.Sequential(("conv", nn.Conv2d(1, 2, 3, padding: 1)), ("act", nn.ReLU()), ("flatten", nn.Flatten()), ("fc", nn.Linear(72, 2)));
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    static Tensor Activations(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        var p = model.parameters().ToArray();
        return nn.functional.relu(nn.functional.conv2d(x, p[0], p[1], padding: new long[] { 1, 1 })).detach(); // [B, 2, 6, 6]
    }

    static readonly long[] Classes = { 0, 1, 0 };

    /// <summary>The fc weights of each example's class: [B, 2] (pooled head) or [B, 2, 6, 6] (flat head).</summary>
    static Tensor ClassWeights(nn.Module<Tensor, Tensor> model, bool pool)
    {
        var w = model.parameters().ToArray()[2].detach();
        var rows = torch.stack(Classes.Select(c => w[c]).ToArray());
        return pool ? rows : rows.reshape(-1, 2, 6, 6);
    }

    static void Close(Tensor expected, Tensor actual, string what) =>
        Assert.True(actual.allclose(expected, atol: 1e-10), $"{what}: max difference {(actual - expected).abs().max().item<double>()}");

    [Fact]
    public void Gradient_cams_match_their_definitions_on_a_flat_head_where_the_gradient_varies_in_space()
    {
        // score_c = Σ_k Σ_ij W[c, k, i, j] A_k[i, j] + b: ∂score/∂A_k = W_k, different at every location.
        using var model = OneConv(1, pool: false);
        using var x = Nets.Inputs(new long[] { 3, 1, 6, 6 }, seed: 2);
        using var a = Activations(model, x);
        using var g = ClassWeights(model, pool: false);
        var relu = nn.functional.relu;
        using var gradCam = new GradCam(model, "act").Attribute(x, Classes);
        Close(relu((g.mean(new long[] { 2, 3 }, keepdim: true) * a).sum(1, keepdim: true)), gradCam.Map, "Grad-CAM");
        using var hiRes = new HiResCam(model, "act").Attribute(x, Classes);
        Close(relu((g * a).sum(1, keepdim: true)), hiRes.Map, "HiResCAM: Σ_k g ⊙ A");
        using var layerCam = new LayerCam(model, "act").Attribute(x, Classes);
        Close(relu((relu(g) * a).sum(1, keepdim: true)), layerCam.Map, "LayerCAM: Σ_k ReLU(g) ⊙ A");
        using var xGrad = new XGradCam(model, "act").Attribute(x, Classes);
        var xWeights = (g * a).sum(new long[] { 2, 3 }, keepdim: true) / (a.sum(new long[] { 2, 3 }, keepdim: true) + 1e-7);
        Close(relu((xWeights * a).sum(1, keepdim: true)), xGrad.Map, "XGrad-CAM: Σ_ij (A/ΣA) g");
        using var plusPlus = new GradCamPlusPlus(model, "act").Attribute(x, Classes);
        var alpha = torch.where(g.ne(0), g.pow(2) / (2 * g.pow(2) + a.sum(new long[] { 2, 3 }, keepdim: true) * g.pow(3) + 1e-7), torch.zeros_like(g));
        var ppWeights = (alpha * relu(g)).sum(new long[] { 2, 3 }, keepdim: true);
        Close(relu((ppWeights * a).sum(1, keepdim: true)), plusPlus.Map, "Grad-CAM++");
        // HiResCAM and Grad-CAM differ here (the gradient is not constant over space).
        Assert.False(hiRes.Map.allclose(gradCam.Map, atol: 1e-6));
    }

    [Fact]
    public void Score_and_ablation_cams_match_their_definitions_on_a_pooled_head()
    {
        using var model = OneConv(3, pool: true);
        using var x = Nets.Inputs(new long[] { 3, 1, 6, 6 }, seed: 4);
        using var a = Activations(model, x);
        using var w = ClassWeights(model, pool: true); // [B, 2]
        var relu = nn.functional.relu;
        using var noGrad = torch.no_grad();
        using var y = torch.stack(Classes.Select((c, e) => model.call(x[e].unsqueeze(0))[0, c]).ToArray()); // [B]

        // Ablation-CAM: zeroing A_k removes W[c, k] · mean(A_k) from the score: w_k = W[c, k] mean(A_k) / y.
        var ablationWeights = w * a.mean(new long[] { 2, 3 }) / y.unsqueeze(1);
        using var ablation = new AblationCam(model, "act").Attribute(x, Classes);
        Close(relu((ablationWeights.reshape(3, 2, 1, 1) * a).sum(1, keepdim: true)), ablation.Map, "Ablation-CAM");

        // Score-CAM: the layer is at input resolution, so M_k = min-max scaled A_k; w = softmax_k f_c(x ⊙ M_k).
        var flat = a.flatten(2);
        var masks = (a - flat.min(2).values.reshape(3, 2, 1, 1)) / (flat.max(2).values.reshape(3, 2, 1, 1) - flat.min(2).values.reshape(3, 2, 1, 1) + 1e-8);
        var scores = torch.stack(Enumerable.Range(0, 3).Select(e => torch.stack(Enumerable.Range(0, 2).Select(k =>
            model.call((x[e] * masks[e, k]).unsqueeze(0))[0, Classes[e]]).ToArray())).ToArray()); // [B, K]
        var scoreWeights = nn.functional.softmax(scores, 1);
        using var score = new ScoreCam(model, "act").Attribute(x, Classes);
        Close(relu((scoreWeights.reshape(3, 2, 1, 1) * a).sum(1, keepdim: true)), score.Map, "Score-CAM");

        // Chunked to two rows per pass: the same maps.
        var tiny = new AttributionSettings { MaxRowsPerPass = 2 };
        using var scoreChunked = new ScoreCam(model, "act", settings: tiny).Attribute(x, Classes);
        using var ablationChunked = new AblationCam(model, "act", settings: tiny).Attribute(x, Classes);
        Close(score.Map, scoreChunked.Map, "Score-CAM chunked");
        Close(ablation.Map, ablationChunked.Map, "Ablation-CAM chunked");
        // Grad-CAM on a pooled head: ∂y/∂A_k = W[c, k] / 36 everywhere, so XGrad-CAM equals Grad-CAM.
        using var gradCam = new GradCam(model, "act").Attribute(x, Classes);
        using var xGrad = new XGradCam(model, "act").Attribute(x, Classes);
        Close(gradCam.Map, xGrad.Map, "XGrad-CAM = Grad-CAM on a pooled head");
    }

    [Fact]
    public void Eigen_cam_is_the_first_principal_component_of_the_feature_maps()
    {
        // Channel 2's kernel and bias are twice channel 1's: A_2 = 2 A_1, so the feature maps are rank one,
        // the first component is (1, 2)/√5, and the projection is √5 (A_1 − mean A_1).
        using var model = OneConv(5, pool: true);
        var p = model.parameters().ToArray();
        using (torch.no_grad())
        {
            p[0][1].copy_(p[0][0] * 2);
            p[1][1].copy_(p[1][0] * 2);
        }
        using var x = Nets.Inputs(new long[] { 3, 1, 6, 6 }, seed: 6);
        using var a = Activations(model, x);
        var first = a.narrow(1, 0, 1);
        using var expected = nn.functional.relu(Math.Sqrt(5) * (first - first.mean(new long[] { 2, 3 }, keepdim: true)));
        using var eigen = new EigenCam(model, "act").Attribute(x, 0);
        Close(expected, eigen.Map, "Eigen-CAM");
        using var other = new EigenCam(model, "act").Attribute(x, 1);
        Assert.True(other.Map.equal(eigen.Map).all().item<bool>()); // class-agnostic

        // eigen_smooth on Grad-CAM: the terms v_k A_1 with v = (w_0, 2 w_1), w = W[c] / 36, are rank one too:
        // the projection is ±|v| (A_1 − mean A_1), signed to agree with the plain map (Σ_k v_k) A_1.
        var w = model.parameters().ToArray()[2].detach()[1] / 36;
        var v = w * torch.tensor(new[] { 1.0, 2.0 }, ScalarType.Float64);
        double sign = Math.Sign(v.sum().item<double>()), norm = v.norm().item<double>();
        using var smoothExpected = nn.functional.relu(sign * norm * (first - first.mean(new long[] { 2, 3 }, keepdim: true)));
        using var smooth = new GradCam(model, "act") { EigenSmooth = true }.Attribute(x, 1);
        Close(smoothExpected, smooth.Map, "Grad-CAM with eigen_smooth");
        Assert.Equal(true, smooth.Parameters["eigen_smooth"]);
    }

    [Fact]
    public void Aug_smooth_averages_the_maps_of_flipped_and_scaled_inputs_flipped_back()
    {
        using var model = OneConv(9, pool: false);
        using var x = Nets.Inputs(new long[] { 3, 1, 6, 6 }, seed: 10);
        using var expected = torch.zeros(3, 1, 6, 6, ScalarType.Float64);
        foreach (bool flip in new[] { false, true })
            foreach (double factor in new[] { 0.9, 1.0, 1.1 })
            {
                using var augmented = (flip ? x.flip(3) : x) * factor;
                using var one = new AblationCam(model, "act").Attribute(augmented, Classes);
                expected.add_(flip ? one.Map.flip(3) : one.Map);
            }
        expected.div_(6);
        using var smooth = new AblationCam(model, "act", settings: new AttributionSettings { MaxRowsPerPass = 2 }) { AugSmooth = true }.Attribute(x, Classes);
        Close(expected, smooth.Map, "Ablation-CAM with aug_smooth");
        using var plain = new AblationCam(model, "act").Attribute(x, Classes);
        Assert.False(plain.Map.allclose(smooth.Map, atol: 1e-6)); // the flat head is not flip-invariant
    }

    [Fact]
    public void Cam_methods_refuse_a_layer_without_feature_maps()
    {
        using var model = OneConv(7, pool: true);
        using var x = Nets.Inputs(new long[] { 1, 1, 6, 6 }, seed: 8);
        var e = Assert.Throws<ArgumentException>(() => new HiResCam(model, "flatten").Attribute(x, 0));
        Assert.Equal("layer", e.ParamName);
        Assert.Contains("[batch, 2]", e.Message);
    }
}
