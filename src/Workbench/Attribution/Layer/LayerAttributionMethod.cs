using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

public enum LayerInterpolation { Nearest, Bilinear }

/// <summary>Captum's LayerAttribution helpers: layer-resolution maps brought to the input's size as an explicit step.</summary>
public static class LayerAttribution
{
    /// <summary>
    /// Upsamples a layer map [B, k, h, w] to <paramref name="height"/> × <paramref name="width"/>
    /// (Captum's LayerAttribution.interpolate: nearest by default; bilinear without aligned corners).
    /// </summary>
    public static Tensor Interpolate(Tensor map, long height, long width, LayerInterpolation mode = LayerInterpolation.Nearest)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.dim() != 4) throw new ArgumentException($"map must be [batch, channels, height, width] to interpolate; got [{string.Join(", ", map.shape)}].", nameof(map));
        return mode == LayerInterpolation.Nearest
            ? nn.functional.interpolate(map, new[] { height, width }, mode: InterpolationMode.Nearest)
            : nn.functional.interpolate(map, new[] { height, width }, mode: InterpolationMode.Bilinear, align_corners: false);
    }
}

/// <summary>
/// The base of layer methods (Captum's LayerAttribution): maps over a named layer's output — or its
/// input, with <see cref="AttributeToLayerInput"/> — at the layer's resolution [B, ...layer]
/// (<see cref="LayerAttribution.Interpolate"/> brings them to the input). The layer is tapped by a
/// forward hook (a pre-hook for its input) that can also substitute the value the rest of the
/// network sees, so gradients are taken w.r.t. exactly what flowed on.
/// </summary>
public abstract class LayerAttributionMethod(AttributionModel model, string layer, bool attributeToLayerInput, AttributionSettings? settings) : AttributionMethod(model, settings)
{
    public string Layer { get; } = layer ?? throw new ArgumentNullException(nameof(layer));
    public bool AttributeToLayerInput { get; } = attributeToLayerInput;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["layer"] = Layer, ["attribute_to_layer_input"] = AttributeToLayerInput };

    // Layer methods only run the model on rows of the inputs: several inputs packed side by side work as one.
    protected internal override bool HandlesSeveralInputs => true;
    protected internal override bool MapsPerInput => false;

    string Where => AttributeToLayerInput ? $"the input of layer '{Layer}'" : $"layer '{Layer}'";

    /// <summary>
    /// One pass over <paramref name="rows"/>: the layer's value and ∂(Σ target scores)/∂value. With
    /// <paramref name="replace"/>, the layer's value is replaced (by a function of the rows' own
    /// value, e.g. an interpolation between activations) before the rest of the network runs.
    /// </summary>
    protected (Tensor Value, Tensor Gradient) LayerGradient(Tensor rows, ResolvedTarget target, long firstRow, Func<Tensor, Tensor>? replace = null)
    {
        var module = HookScope.Layer(RequireModule(), Layer);
        Tensor? kept = null;
        // Keep an alias and hand an alias of it on: containers dispose what they pass along (see GradCam).
        Tensor Tap(Tensor value)
        {
            kept = replace is null ? value.alias() : replace(value).detach().requires_grad_(true);
            return kept.alias();
        }
        using var hooks = new HookScope();
        if (AttributeToLayerInput) hooks.AddPre(Layer, module, Tap);
        else hooks.Add(Layer, module, (input, output) => Tap(output));
        using var enable = torch.enable_grad();
        var x = rows.detach().requires_grad_(true);
        var output = Model.Forward(x);
        hooks.Audit(Name);
        var grad = Model.Gradient(target.Score(output, firstRow).sum(), kept!, Where);
        return (kept!.detach(), grad);
    }

    /// <summary>The layer's value for every example of <paramref name="inputs"/>, without gradients, chunked.</summary>
    protected Tensor LayerValue(Tensor inputs)
    {
        var module = HookScope.Layer(RequireModule(), Layer);
        var parts = new List<Tensor>();
        ForEachChunk(inputs.shape[0], (s, n) =>
        {
            Tensor? kept = null;
            using var hooks = new HookScope();
            if (AttributeToLayerInput) hooks.AddPre(Layer, module, input => { kept = input.detach().clone(); return input; });
            else hooks.Add(Layer, module, (input, output) => { kept = output.detach().clone(); return output; });
            using var noGrad = torch.no_grad();
            Model.Forward(inputs.narrow(0, s, n));
            hooks.Audit(Name);
            parts.Add(kept!.MoveToOuterDisposeScope());
        });
        return parts.Count == 1 ? parts[0] : torch.cat(parts.ToArray());
    }

    /// <summary>∂target/∂layer and the layer's value for every example (chunked) -> both [B, ...layer].</summary>
    protected (Tensor Value, Tensor Gradient) LayerGradientOfBatch(Tensor inputs, ResolvedTarget target)
    {
        var values = new List<Tensor>();
        var grads = new List<Tensor>();
        ForEachChunk(inputs.shape[0], (s, n) =>
        {
            var (v, g) = LayerGradient(inputs.narrow(0, s, n), target, s);
            values.Add(v.MoveToOuterDisposeScope());
            grads.Add(g.MoveToOuterDisposeScope());
        });
        return values.Count == 1 ? (values[0], grads[0]) : (torch.cat(values.ToArray()), torch.cat(grads.ToArray()));
    }

    /// <summary>[n, 1, 1, ...] for broadcasting a per-row scalar over a value of <paramref name="rank"/> dimensions.</summary>
    protected static long[] RowShape(long rows, int rank) => new[] { rows }.Concat(Enumerable.Repeat(1L, rank - 1)).ToArray();
}

/// <summary>
/// Captum's LayerGradCam: at the layer's resolution, w_k = the mean of ∂y/∂A_k over the dimensions
/// after the channel (none for a non-spatial layer [B, K]: then w = the gradient), map = Σ_k w_k A_k
/// [B, 1, ...] — or, with <see cref="PerChannel"/> (Captum's attr_dim_summation=False), w_k A_k
/// [B, K, ...]. ReLU only when asked (Captum's relu_attributions, default off). For the
/// pytorch-grad-cam style (ReLU, bilinear to the input) see <see cref="GradCam"/>.
/// </summary>
public sealed class LayerGradCam(AttributionModel model, string layer, bool relu = false, bool perChannel = false, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public bool Relu { get; } = relu;
    public bool PerChannel { get; } = perChannel;
    public override string Name => "LayerGradCam";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["relu"] = Relu, ["per_channel"] = PerChannel };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (a, g) = LayerGradientOfBatch(c.Inputs, c.Target);
        if (a.dim() < 2) throw new ArgumentException($"LayerGradCam needs layer '{Layer}' to output [batch, channels, ...]; it outputs {Target.RowShape(a)}.", "layer");
        var weights = a.dim() > 2 ? g.mean(Enumerable.Range(2, (int)a.dim() - 2).Select(d => (long)d).ToArray(), keepdim: true) : g;
        var map = PerChannel ? weights * a : (weights * a).sum(1, keepdim: true);
        return new(Relu ? nn.functional.relu(map) : map);
    }
}

/// <summary>Captum's LayerGradientXActivation: A ⊙ ∂y/∂A at the layer (the gradient alone with <see cref="MultiplyByInputs"/> false).</summary>
public sealed class LayerGradientXActivation(AttributionModel model, string layer, bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "LayerGradientXActivation";

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (a, g) = LayerGradientOfBatch(c.Inputs, c.Target);
        return new(MultiplyByInputs ? a * g : g);
    }
}

/// <summary>
/// Captum's LayerIntegratedGradients: IG in the layer's space. The layer's value at the input, a,
/// and at the baseline, a', are joined by a straight path a' + α(a − a') substituted at the layer;
/// map = (a − a') ⊙ ∫₀¹ ∂y/∂a dα [B, ...layer] (the integral alone with <see cref="MultiplyByInputs"/>
/// false). Completeness: the map sums to F(x) − F(x') (the convergence delta reports the gap).
/// Baselines as IG: none (zeros), one, or one per example.
/// </summary>
public sealed class LayerIntegratedGradients(AttributionModel model, string layer, int steps = 50, IntegrationRule rule = IntegrationRule.GaussLegendre,
    bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public int Steps { get; } = CheckedSteps(steps, rule);
    public IntegrationRule Rule { get; } = rule;
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "LayerIntegratedGradients";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["steps"] = Steps, ["rule"] = Rule.ToString(), ["multiply_by_inputs"] = MultiplyByInputs };
    protected override bool UsesBaselines => true;

    internal static int CheckedSteps(int steps, IntegrationRule rule)
    {
        Quadrature.Check(rule, steps, nameof(steps));
        return steps;
    }

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (alphas, weights) = Quadrature.Points(Rule, Steps);
        var baseline = BaselinePerExample(c);
        var a = LayerValue(c.Inputs);
        var aRef = LayerValue(baseline);
        var diff = a - aRef;
        var gradSum = torch.zeros_like(a);
        using var alphaT = torch.tensor(alphas, a.dtype, a.device);
        using var weightT = torch.tensor(weights, a.dtype, a.device);
        ForEachChunk(alphas.Length * c.BatchSize, (start, n) =>
        {
            var (example, step) = RowIndices(c, start, n);
            var shape = RowShape(n, (int)a.dim());
            var point = aRef.index_select(0, example) + alphaT.index_select(0, step).reshape(shape) * diff.index_select(0, example);
            var (_, g) = LayerGradient(c.Inputs.index_select(0, example), c.Target, start, _ => point);
            gradSum.index_add_(0, example, g * weightT.index_select(0, step).reshape(shape), 1);
        });
        if (!MultiplyByInputs) return new(gradSum);
        var map = diff * gradSum;
        using var noGrad = torch.no_grad();
        var gap = c.Target.Score(c.OutputAtInputs) - c.Target.Score(Scores(baseline));
        return new(map, map.flatten(1).sum(1) - gap);
    }
}

/// <summary>
/// Captum's InternalInfluence (Leino et al., 2018): ∫₀¹ ∂y/∂a at the inputs x' + α(x − x') dα — the
/// layer's gradient averaged along the input path [B, ...layer] (no multiplication by activations).
/// </summary>
public sealed class InternalInfluence(AttributionModel model, string layer, int steps = 50, IntegrationRule rule = IntegrationRule.GaussLegendre,
    bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public int Steps { get; } = LayerIntegratedGradients.CheckedSteps(steps, rule);
    public IntegrationRule Rule { get; } = rule;
    public override string Name => "InternalInfluence";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["steps"] = Steps, ["rule"] = Rule.ToString() };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (alphas, weights) = Quadrature.Points(Rule, Steps);
        var baseline = BaselinePerExample(c);
        var diff = c.Inputs - baseline;
        Tensor? sum = null;
        for (int k = 0; k < alphas.Length; k++)
        {
            var (_, g) = LayerGradientOfBatch(baseline + alphas[k] * diff, c.Target);
            sum = sum is null ? g * weights[k] : sum.add_(g * weights[k]);
        }
        return new(sum!);
    }
}

/// <summary>
/// Captum's LayerConductance (Dhamdhere et al., 2018): the flow through each layer unit along the
/// input path, Σ_k ∂y/∂a(x_k) ⊙ (a(x_{k+1}) − a(x_k)) over n uniform steps x_k = x' + (k/n)(x − x')
/// (a left Riemann sum of ∫ ∂y/∂a · da/dα dα). Captum computes the same sum on its method's n + 1
/// points: these are its points for method="riemann_trapezoid"; its default Gauss–Legendre nodes
/// stop short of 0 and 1, so there the differences telescope to less than the full Δa. Summed over
/// the layer it approximates F(x) − F(x') when every path from the input to the output passes the
/// layer (the delta reports the gap).
/// </summary>
public sealed class LayerConductance(AttributionModel model, string layer, int steps = 50, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public int Steps { get; } = steps >= 1 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be >= 1.");
    public override string Name => "LayerConductance";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["steps"] = Steps };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var baseline = BaselinePerExample(c);
        var diff = c.Inputs - baseline;
        Tensor? conductance = null, previousValue = null, previousGrad = null;
        for (int k = 0; k <= Steps; k++)
        {
            var (a, g) = LayerGradientOfBatch(baseline + (double)k / Steps * diff, c.Target);
            if (previousGrad is not null)
            {
                var flow = previousGrad * (a - previousValue!);
                conductance = conductance is null ? flow : conductance.add_(flow);
            }
            (previousValue, previousGrad) = (a, g);
        }
        using var noGrad = torch.no_grad();
        var gap = c.Target.Score(c.OutputAtInputs) - c.Target.Score(Scores(baseline));
        return new(conductance!, conductance!.flatten(1).sum(1) - gap);
    }
}

/// <summary>
/// Captum's LayerFeatureAblation: each unit of a layer — or each group of units of
/// <see cref="LayerMask"/> (ids per unit, shared by the batch, broadcast from e.g. [K, 1, 1]) — is
/// replaced by <see cref="LayerBaseline"/> (0 by default, as Captum) in the forward pass, and
/// credited with the drop of the target score; every unit of a group gets the group's drop. Map at
/// the layer's resolution; the (unit, example) passes are chunked to the memory budget.
/// </summary>
public sealed class LayerFeatureAblation(AttributionModel model, string layer, Tensor? layerMask = null, double layerBaseline = 0,
    bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public Tensor? LayerMask { get; } = layerMask;
    public double LayerBaseline { get; } = layerBaseline;
    public override string Name => "LayerFeatureAblation";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["layer_baseline"] = LayerBaseline };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var probe = LayerValue(c.Inputs.narrow(0, 0, 1));
        var unitShape = probe.shape[1..];
        var ids = ResolveLayerMask(unitShape, c.Inputs.device); // [U]
        long features = ids.max().item<long>() + 1;
        var full = c.Target.Score(c.OutputAtInputs);
        var scores = torch.empty(features * c.BatchSize, c.Inputs.dtype, c.Inputs.device);
        Tensor? keep = null; // per row of the current pass: 1 for the units left alone, [n, ...layer]
        var module = HookScope.Layer(RequireModule(), Layer);
        using var hooks = new HookScope();
        Tensor Ablate(Tensor v) => v * keep! + LayerBaseline * (1 - keep!);
        if (AttributeToLayerInput) hooks.AddPre(Layer, module, Ablate);
        else hooks.Add(Layer, module, (input, output) => Ablate(output));
        ActiveHooks = hooks;
        try
        {
            ForEachChunk(features * c.BatchSize, (start, n) =>
            {
                var (example, feature) = RowIndices(c, start, n);
                keep = (1 - nn.functional.one_hot(feature, features)).index_select(1, ids).to_type(probe.dtype).reshape(new[] { n }.Concat(unitShape).ToArray());
                using var noGrad = torch.no_grad();
                scores.narrow(0, start, n).copy_(c.Target.Score(HookedForward(c.Inputs.index_select(0, example)), start));
            });
        }
        finally { ActiveHooks = null; }
        var drop = full.unsqueeze(0) - scores.reshape(features, c.BatchSize); // [M, B]
        return new(drop.t().index_select(1, ids).reshape(new[] { c.BatchSize }.Concat(unitShape).ToArray()));
    }

    Tensor ResolveLayerMask(long[] unitShape, Device device)
    {
        long units = unitShape.Aggregate(1L, (a, b) => a * b);
        if (LayerMask is null) return torch.arange(units, dtype: ScalarType.Int64, device: device);
        if (LayerMask.is_floating_point() || LayerMask.dtype == ScalarType.Bool)
            throw new ArgumentException($"layerMask must hold integer group ids; got {LayerMask.dtype}.", "layerMask");
        var m = LayerMask.dim() == unitShape.Length + 1 && LayerMask.shape[0] == 1 ? LayerMask[0] : LayerMask;
        try { m = m.to_type(ScalarType.Int64).expand(unitShape).flatten().contiguous().to(device); }
        catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException)
        {
            throw new ArgumentException($"layerMask of shape [{string.Join(", ", LayerMask.shape)}] does not broadcast to the layer's value per example [{string.Join(", ", unitShape)}] (one mask for the batch).", "layerMask", e);
        }
        if (m.min().item<long>() < 0) throw new ArgumentException("layerMask ids must be >= 0.", "layerMask");
        return m;
    }
}

/// <summary>
/// Captum's LayerGradientShap: GradientSHAP at a layer — the layer's gradient at x' + α(x + ε − x')
/// times the change of the layer's value between the noisy input and the baseline,
/// a(x + ε) − a(x'), averaged over samples (baselines drawn from the set, α ~ U(0, 1), ε ~ N(0, stdev²)).
/// </summary>
public sealed class LayerGradientShap(AttributionModel model, string layer, int samples = 50, double stdev = 0.0, int seed = 0, bool multiplyByInputs = true,
    bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public int Samples { get; } = samples >= 1 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 1.");
    public double Stdev { get; } = stdev >= 0 ? stdev : throw new ArgumentOutOfRangeException(nameof(stdev), stdev, "stdev must be >= 0.");
    public int Seed { get; } = seed;
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "LayerGradientShap";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters)
    {
        ["samples"] = Samples, ["stdev"] = Stdev, ["seed"] = Seed, ["multiply_by_inputs"] = MultiplyByInputs,
    };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        Tensor? sum = null;
        GradientShap.ForEachSampleGroup(this, c, BaselineSet(c), Samples, Stdev, Seed, (first, x, baseline, alpha) =>
        {
            var (_, g) = LayerGradient(baseline + alpha * (x - baseline), c.Target, first);
            var term = MultiplyByInputs ? g * (LayerValue(x) - LayerValue(baseline)) : g;
            sum ??= torch.zeros(new[] { c.BatchSize }.Concat(term.shape.Skip(1)).ToArray(), term.dtype, term.device).MoveToOuterDisposeScope();
            sum.index_add_(0, RowIndices(c, first, x.shape[0]).Example, term, 1);
        });
        return new(sum! / Samples);
    }
}

/// <summary>Captum's LayerDeepLiftShap: <see cref="LayerDeepLift"/> against each baseline of a set [K, ...], averaged.</summary>
public sealed class LayerDeepLiftShap(AttributionModel model, string layer, bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "LayerDeepLiftShap";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["multiply_by_inputs"] = MultiplyByInputs };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c) =>
        AverageOverBaselines(c, BaselineSet(c), baseline => DeepLift.Explain(this, c, baseline, MultiplyByInputs, Layer, AttributeToLayerInput));
}
