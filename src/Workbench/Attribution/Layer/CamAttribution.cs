using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The class-activation-map family (pytorch-grad-cam's methods): a map over a named layer's feature
/// maps A [n, K, h, w] — most of them Σ_k w_k A_k with method-specific weights — ReLU'd (as
/// pytorch-grad-cam does for every method), upsampled bilinearly to the input and repeated over its
/// channels. Every example gets its own target; examples are taken in chunks of the memory budget.
/// Unlike pytorch-grad-cam, maps are not min-max scaled per image (a display step:
/// Visualization's normalisation), so they keep the units of the paper's definition.
/// <see cref="EigenSmooth"/> (pytorch-grad-cam's eigen_smooth) replaces the sum over channels by the
/// first principal component of the per-channel terms, as Eigen-CAM does with the raw activations;
/// <see cref="AugSmooth"/> (its aug_smooth) averages the maps of test-time augmentations.
/// </summary>
public abstract class CamAttribution(AttributionModel model, string layer, bool relu, AttributionSettings? settings) : AttributionMethod(model, settings)
{
    public string Layer { get; } = layer ?? throw new ArgumentNullException(nameof(layer));
    public bool Relu { get; } = relu;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["layer"] = Layer, ["relu"] = Relu, ["eigen_smooth"] = Project, ["aug_smooth"] = AugSmooth,
    };

    /// <summary>
    /// pytorch-grad-cam's aug_smooth: the map averaged over its test-time augmentations (ttach's
    /// horizontal flip × brightness factors 0.9, 1, 1.1), each flipped back first; six times the cost.
    /// </summary>
    public bool AugSmooth { get; init; }

    /// <summary>The map is the first principal component of the per-channel terms instead of their sum (pytorch-grad-cam's eigen_smooth).</summary>
    public bool EigenSmooth { get; init; }

    /// <summary>True when the channel terms are projected on their first principal component rather than summed.</summary>
    protected virtual bool Project => EigenSmooth;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        if (!AugSmooth) return new(Maps(c));
        if (c.Inputs.dim() != 4) throw new ArgumentException($"aug_smooth flips images [batch, channels, height, width]; got [{string.Join(", ", c.Inputs.shape)}].", "inputs");
        Tensor? sum = null;
        int count = 0;
        var outputs = new List<Tensor>(); // each augmentation's output at its inputs, owned here (chunks would dispose it)
        try
        {
            foreach (bool flip in new[] { false, true })
                foreach (double factor in new[] { 0.9, 1.0, 1.1 })
                {
                    var x = (flip ? c.Inputs.flip(3) : c.Inputs) * factor;
                    var output = new Lazy<Tensor>(() =>
                    {
                        using var noGrad = torch.no_grad();
                        var o = Scores(x).DetachFromDisposeScope();
                        outputs.Add(o);
                        return o;
                    });
                    var map = Maps(c with { Inputs = x, LazyOutput = output });
                    if (flip) map = map.flip(3);
                    sum = sum is null ? map : sum.add_(map);
                    count++;
                }
        }
        finally
        {
            foreach (var o in outputs) o.Dispose();
        }
        return new(sum! / count);
    }

    /// <summary>The maps of a batch: per chunk of examples, the channel terms summed (or projected), ReLU'd, upsampled.</summary>
    Tensor Maps(AttributionContext c)
    {
        var maps = new List<Tensor>();
        ForEachChunk(c.BatchSize, (s, n) =>
        {
            var terms = ChannelTerms(c, s, n);
            var cam = Project ? Projection(terms) : terms.sum(1, keepdim: true);
            if (Relu) cam = nn.functional.relu(cam);
            maps.Add(GradCam.Upsample(cam, c.Inputs).MoveToOuterDisposeScope());
        });
        return maps.Count == 1 ? maps[0] : torch.cat(maps.ToArray());
    }

    /// <summary>The method's per-channel terms at layer resolution [n, K, h, w] (e.g. w_k A_k) for examples [first, first + n); the map is their sum.</summary>
    protected abstract Tensor ChannelTerms(AttributionContext c, long first, long n);

    /// <summary>
    /// The projection of terms [n, K, h, w] on their first principal component (positions × channels,
    /// centred per channel, as pytorch-grad-cam's get_2d_projection) -> [n, 1, h, w]. The component is
    /// the top eigenvector of the K × K Gram matrix (the first right singular vector, without an SVD of
    /// the positions); its sign, arbitrary in the decomposition, is chosen so the map correlates
    /// positively with the plain sum of the terms (pytorch-grad-cam leaves it to the SVD, so its map can
    /// come out inverted before the ReLU).
    /// </summary>
    protected static Tensor Projection(Tensor terms)
    {
        long n = terms.shape[0], h = terms.shape[2], w = terms.shape[3];
        var m = terms.flatten(2).transpose(1, 2); // [n, hw, K]
        m = m - m.mean(new long[] { 1 }, keepdim: true);
        var (_, vectors) = torch.linalg.eigh(m.transpose(1, 2).matmul(m));
        var projection = m.matmul(vectors.select(2, vectors.shape[2] - 1).unsqueeze(2)).squeeze(2); // [n, hw]
        var summed = terms.sum(1).flatten(1);
        var agreement = (projection * (summed - summed.mean(new long[] { 1 }, keepdim: true))).sum(1, keepdim: true);
        projection = projection * torch.where(agreement.lt(0), -1.0, 1.0).to_type(projection.dtype);
        return projection.reshape(n, 1, h, w);
    }

    /// <summary>The layer's feature maps A [n, K, h, w] and ∂score/∂A for examples [first, first + n).</summary>
    protected (Tensor Activation, Tensor Gradient) ActivationAndGradient(AttributionContext c, long first, long n)
    {
        var (a, g) = GradCam.LayerActivationAndGradient(this, RequireModule(), Layer, c.Inputs.narrow(0, first, n), c.Target, first);
        RequireFeatureMaps(a);
        return (a, g);
    }

    /// <summary>The layer's feature maps A [n, K, h, w] for examples [first, first + n), without gradients.</summary>
    protected Tensor Activation(AttributionContext c, long first, long n)
    {
        Tensor? kept = null;
        using (var hooks = new HookScope())
        {
            hooks.Add(Layer, HookScope.Layer(RequireModule(), Layer), (input, output) => { kept = output.detach().clone(); return output; });
            using var noGrad = torch.no_grad();
            Model.Forward(c.Inputs.narrow(0, first, n));
            hooks.Audit(Name);
        }
        RequireFeatureMaps(kept!);
        return kept!;
    }

    void RequireFeatureMaps(Tensor a)
    {
        if (a.dim() != 4)
            throw new ArgumentException($"{Name} needs layer '{Layer}' to output feature maps [batch, channels, height, width]; it outputs {Target.RowShape(a)}. LayerGradCam takes any layer.", "layer");
    }

    /// <summary>
    /// Target scores of K variants of examples [first, first + n) -> [n, K]: <paramref name="build"/>
    /// gives the model's inputs for rows of (example within the chunk, variant), channel-major
    /// (row r = variant r / n of example r mod n), evaluated in passes of the memory budget.
    /// <paramref name="hooked"/>: the method's hooks are active and audited on each pass.
    /// </summary>
    protected Tensor ExpandedScores(AttributionContext c, long first, long n, long variants, Func<Tensor, Tensor, Tensor> build, bool hooked = false)
    {
        var target = c.Target.Subset(Enumerable.Range((int)first, (int)n).Select(e => (long)e).ToArray());
        var scores = torch.empty(variants * n, c.Inputs.dtype, c.Inputs.device);
        ForEachChunk(variants * n, (start, rows) =>
        {
            using var noGrad = torch.no_grad();
            var r = torch.arange(start, start + rows, dtype: ScalarType.Int64, device: c.Inputs.device);
            var inputs = build(r % n, torch.floor_divide(r, n));
            scores.narrow(0, start, rows).copy_(hooked ? target.Score(HookedForward(inputs), start) : TargetScores(inputs, target, start));
        });
        return scores.reshape(variants, n).t();
    }

    /// <summary>w_k A_k for weights [n, K] -> [n, K, h, w].</summary>
    protected static Tensor Weighted(Tensor weights, Tensor activation) =>
        weights.reshape(weights.shape[0], weights.shape[1], 1, 1) * activation;
}

/// <summary>
/// Grad-CAM++ (Chattopadhay et al., 2018, eq. 19 with the exponential's derivatives as in
/// pytorch-grad-cam): w_k = Σ_ij α_ij^k ReLU(g_ij^k), α = g² / (2g² + Σ_ab A_ab^k · g³) (0 where g = 0).
/// </summary>
public sealed class GradCamPlusPlus(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    const double Epsilon = 1e-7; // pytorch-grad-cam's guard of the denominator
    public override string Name => "GradCamPlusPlus";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        var (a, g) = ActivationAndGradient(c, first, n);
        var g2 = g.pow(2);
        var sumA = a.sum(new long[] { 2, 3 }, keepdim: true);
        var alpha = torch.where(g.ne(0), g2 / (2 * g2 + sumA * g2 * g + Epsilon), torch.zeros_like(g));
        var weights = (alpha * nn.functional.relu(g)).sum(new long[] { 2, 3 });
        return Weighted(weights, a);
    }
}

/// <summary>XGrad-CAM (Fu et al., 2020): w_k = Σ_ij (A_ij^k / Σ_ab A_ab^k) g_ij^k — the gradient averaged with the activations as weights.</summary>
public sealed class XGradCam(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    const double Epsilon = 1e-7;
    public override string Name => "XGradCam";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        var (a, g) = ActivationAndGradient(c, first, n);
        var weights = (g * a).sum(new long[] { 2, 3 }) / (a.sum(new long[] { 2, 3 }) + Epsilon);
        return Weighted(weights, a);
    }
}

/// <summary>HiResCAM (Draelos &amp; Carin, 2020): Σ_k g^k ⊙ A^k elementwise — no spatial averaging of the gradient, so the map shows what the score actually used.</summary>
public sealed class HiResCam(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    public override string Name => "HiResCam";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        var (a, g) = ActivationAndGradient(c, first, n);
        return g * a;
    }
}

/// <summary>LayerCAM (Jiang et al., 2021): Σ_k ReLU(g^k) ⊙ A^k — each location weighted by its own positive gradient.</summary>
public sealed class LayerCam(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    public override string Name => "LayerCam";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        var (a, g) = ActivationAndGradient(c, first, n);
        return nn.functional.relu(g) * a;
    }
}
