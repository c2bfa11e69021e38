using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// A layer-wise relevance propagation rule (Bach et al., 2015; Montavon et al., 2019): how a linear
/// or convolutional layer redistributes the relevance R of its outputs to its inputs. Each rule is a
/// modified forward z(x) and a stabiliser; R_in = x ⊙ ∇ₓ[z(x)]ᵀ (R / stab(z)) — the gradient trick of
/// Zennit, computed in the layer's backward pass, with the transposed layer applied directly
/// (Wᵀ for a linear layer, the transposed convolution) rather than by a nested autograd pass.
/// </summary>
public abstract record LrpRule
{
    public abstract string Name { get; }

    /// <summary>Relevance at the layer's input given relevance at its output (<paramref name="output"/>: the layer's own output z = W x + b).</summary>
    internal abstract Tensor Propagate(LrpLayer layer, Tensor input, Tensor output, Tensor relevance);

    internal static Tensor Stabilize(Tensor z, double epsilon) => z + epsilon * torch.where(z.ge(0), 1.0, -1.0).to_type(z.dtype);

    /// <summary>x ⊙ Wᵀ s for the layer with weights <paramref name="w"/> (bias does not enter the Jacobian).</summary>
    internal static Tensor Backward(LrpLayer layer, Tensor w, Tensor x, Tensor s, Tensor? multiplyBy = null) =>
        (multiplyBy ?? x) * layer.Transpose(s, w, x.shape);
}

/// <summary>LRP-ε: R_in = x ⊙ Wᵀ (R / (z + ε·sign z)). ε → 0 is LRP-0 (= gradient × input for ReLU nets).</summary>
public sealed record EpsilonRule(double Epsilon = 1e-6) : LrpRule
{
    public override string Name => $"epsilon({Epsilon:G3})";
    internal override Tensor Propagate(LrpLayer l, Tensor x, Tensor z, Tensor r) => Backward(l, l.Weight, x, r / Stabilize(z, Epsilon));
}

/// <summary>LRP-γ: favours positive contributions, W' = W + γW⁺ (and b' = b + γb⁺).</summary>
public sealed record GammaRule(double Gamma = 0.25, double Epsilon = 1e-6) : LrpRule
{
    public override string Name => $"gamma({Gamma:G3})";
    internal override Tensor Propagate(LrpLayer l, Tensor x, Tensor output, Tensor r)
    {
        var w = l.Weight + Gamma * l.Weight.clamp_min(0);
        var b = l.Bias is null ? null : l.Bias + Gamma * l.Bias.clamp_min(0);
        var z = l.Apply(x, w, b);
        return Backward(l, w, x, r / Stabilize(z, Epsilon));
    }
}

/// <summary>LRP-z⁺ (for non-negative inputs, e.g. after ReLU): only positive weights, no bias.</summary>
public sealed record ZPlusRule(double Epsilon = 1e-9) : LrpRule
{
    public override string Name => "z+";
    internal override Tensor Propagate(LrpLayer l, Tensor x, Tensor output, Tensor r)
    {
        var w = l.Weight.clamp_min(0);
        var z = l.Apply(x, w, null);
        return Backward(l, w, x, r / Stabilize(z, Epsilon));
    }
}

/// <summary>
/// LRP-αβ (α − β = 1): positive and negative contributions separately,
/// R_in = α·R⁺-share − β·R⁻-share (Bach et al., 2015), inputs of either sign.
/// </summary>
public sealed record AlphaBetaRule(double Alpha = 2, double Beta = 1, double Epsilon = 1e-9) : LrpRule
{
    public override string Name => $"alpha{Alpha:G3}beta{Beta:G3}";
    internal override Tensor Propagate(LrpLayer l, Tensor x, Tensor output, Tensor r)
    {
        var (wp, wn) = (l.Weight.clamp_min(0), l.Weight.clamp_max(0));
        var (xp, xn) = (x.clamp_min(0), x.clamp_max(0));
        var bp = l.Bias?.clamp_min(0);
        var bn = l.Bias?.clamp_max(0);
        Tensor Share(Tensor w1, Tensor w2, Tensor? b)
        {
            // Contributions of one sign: w1·x⁺ + w2·x⁻ (+ the bias of that sign).
            var z = l.Apply(xp, w1, b) + l.Apply(xn, w2, null);
            var s = r / Stabilize(z, Epsilon);
            return Backward(l, w1, xp, s) + Backward(l, w2, xn, s);
        }
        var positive = Share(wp, wn, bp);
        var negative = Share(wn, wp, bn);
        return Alpha * positive - Beta * negative;
    }
}

/// <summary>LRP-flat: relevance spread uniformly over each output's receptive field (all weights 1, inputs 1).</summary>
public sealed record FlatRule : LrpRule
{
    public override string Name => "flat";
    internal override Tensor Propagate(LrpLayer l, Tensor x, Tensor output, Tensor r)
    {
        var w = torch.ones_like(l.Weight);
        var ones = torch.ones_like(x);
        var z = l.Apply(ones, w, null);
        return Backward(l, w, ones, r / Stabilize(z, 1e-9), ones);
    }
}

/// <summary>A linear or 2-D convolution layer seen by LRP: its weights and how to apply modified ones.</summary>
public sealed class LrpLayer
{
    readonly Func<Tensor, Tensor, Tensor?, Tensor> _apply;
    readonly Func<Tensor, Tensor, long[], Tensor> _transpose;
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public Tensor Apply(Tensor x, Tensor w, Tensor? b) => _apply(x, w, b);

    /// <summary>Wᵀ s: the layer's Jacobian transposed, applied to <paramref name="s"/> (the shape of its outputs) -> <paramref name="inputShape"/>.</summary>
    public Tensor Transpose(Tensor s, Tensor w, long[] inputShape) => _transpose(s, w, inputShape);

    LrpLayer(Tensor weight, Tensor? bias, Func<Tensor, Tensor, Tensor?, Tensor> apply, Func<Tensor, Tensor, long[], Tensor> transpose)
    {
        Weight = weight; Bias = bias; _apply = apply; _transpose = transpose;
    }

    public static LrpLayer? TryCreate(nn.Module module) => module switch
    {
        Linear l => new LrpLayer(l.weight!.detach(), l.bias?.detach(), (x, w, b) => nn.functional.linear(x, w, b), (s, w, _) => s.matmul(w)),
        Conv2d c => new LrpLayer(c.weight!.detach(), c.bias?.detach(),
            (x, w, b) => nn.functional.conv2d(x, w, b, strides: c.stride, padding: c.padding ?? new long[] { 0, 0 }, dilation: c.dilation, groups: c.groups),
            (s, w, shape) => ConvTranspose(c, s, w, shape)),
        _ => null,
    };

    /// <summary>The transposed convolution, with the output padding that restores the input's size (a strided conv maps several sizes to one).</summary>
    static Tensor ConvTranspose(Conv2d c, Tensor s, Tensor w, long[] inputShape)
    {
        var padding = c.padding ?? new long[] { 0, 0 };
        var stride = c.stride ?? new long[] { 1, 1 };
        var dilation = c.dilation ?? new long[] { 1, 1 };
        var outputPadding = new long[2];
        for (int d = 0; d < 2; d++)
            outputPadding[d] = inputShape[2 + d] - ((s.shape[2 + d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (w.shape[2 + d] - 1) + 1);
        return nn.functional.conv_transpose2d(s, w, null, stride, padding, outputPadding, dilation, c.groups);
    }
}

/// <summary>
/// Chooses a rule per layer (Zennit's composites). Layers with parameters that no rule covers (e.g.
/// BatchNorm: fold it into the preceding layer first) are an error naming them.
/// </summary>
public sealed class LrpComposite(Func<string, nn.Module, int, LrpRule?> select, string name)
{
    public string Name { get; } = name;

    /// <summary>The rule for a layer given its name, module and index among the rule-bearing layers (0 = closest to the input).</summary>
    public LrpRule? RuleFor(string layer, nn.Module module, int index) => select(layer, module, index);

    public static LrpComposite Uniform(LrpRule rule) => new((_, _, _) => rule, $"uniform {rule.Name}");

    /// <summary>Zennit's EpsilonPlus: z⁺ for convolutions, ε for dense layers.</summary>
    public static LrpComposite EpsilonPlus(double epsilon = 1e-6) =>
        new((_, m, _) => m is Conv2d ? new ZPlusRule() : new EpsilonRule(epsilon), "epsilon-plus");

    /// <summary>Zennit's EpsilonPlusFlat: flat for the first layer, then EpsilonPlus.</summary>
    public static LrpComposite EpsilonPlusFlat(double epsilon = 1e-6) =>
        new((_, m, i) => i == 0 ? new FlatRule() : m is Conv2d ? new ZPlusRule() : new EpsilonRule(epsilon), "epsilon-plus-flat");
}

/// <summary>
/// Layer-wise relevance propagation: the target's output value is redistributed layer by layer to the
/// input by the rule the composite picks for each linear/conv layer; activations pass relevance
/// through unchanged; pooling and reshaping pass it by their gradient. With LRP-0/ε→0 and no biases
/// the map sums to the output (conservation); the convergence delta reports Σ R_in − f(x).
/// Relevance flows as the gradient, so a functional sum of two branches (a residual connection, x + y
/// outside a module) hands each branch all of it: such a model needs the sum as a module with a rule
/// (Zennit's canonizers do this); it cannot be detected from hooks.
/// </summary>
public sealed class Lrp(AttributionModel model, LrpComposite composite, AttributionSettings? settings = null) : AttributionMethod(model, settings)
{
    public LrpComposite Composite { get; } = composite;
    public override string Name => "Lrp";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["composite"] = Composite.Name };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        using var hooks = new HookScope();
        InstallRules(this, Composite, hooks);
        ActiveHooks = hooks;
        Tensor grad;
        // f(x) from the gradient's own forward passes, not a second forward.
        var fx = torch.empty(c.BatchSize, c.Inputs.dtype, c.Inputs.device);
        try { grad = InputGradient(c, fx); }
        finally { ActiveHooks = null; }
        // The rules are linear in R: seeding the backward pass with 1 instead of f(x) scales every relevance by 1/f(x).
        var scale = fx.reshape(new[] { c.BatchSize }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray());
        var map = grad * scale;
        return new(map, map.flatten(1).sum(1) - fx);
    }

    /// <summary>
    /// Installs the composite's rule on every linear/conv layer and the pass-through on activations.
    /// <paramref name="wrap"/> (layer name, the hook's result) lets a layer method tap a hooked layer
    /// after its rule in the same hook (the order of two hooks on one module is not guaranteed).
    /// </summary>
    internal static void InstallRules(AttributionMethod method, LrpComposite composite, HookScope hooks, Func<string, Tensor, Tensor>? wrap = null)
    {
        var module = method.RequireModule();
        wrap ??= (_, t) => t;
        var leaves = HookScope.Leaves(module, _ => true).ToList();
        var rules = new Dictionary<string, (LrpLayer Layer, LrpRule Rule, int Index)>();
        int index = 0;
        foreach (var (name, leaf) in leaves)
            if (LrpLayer.TryCreate(leaf) is { } layer)
                rules[name] = (layer, composite.RuleFor(name, leaf, index)
                    ?? throw new InvalidOperationException($"LRP composite '{composite.Name}' gives no rule for layer '{name}' ({leaf.GetType().Name})."), index++);
        // Activations pass relevance through unchanged. A ReLU's own backward does that already when no
        // relevance arrives where its output is 0: every rule but flat multiplies by the layer's input
        // (x ⊙ Wᵀ s), which is that output, and max pooling, flattening and dropout (eval) only route
        // it. Flat on the first layer (EpsilonPlusFlat) sees the input, not a ReLU. Anything else
        // between (e.g. average pooling spreads relevance onto zeros) keeps the explicit pass-through.
        bool nativeRelu = rules.Values.All(r => r.Index == 0 || r.Rule is not FlatRule)
            && leaves.All(l => rules.ContainsKey(l.Name) || HookScope.IsActivation(l.Module) || l.Module is MaxPool1d or MaxPool2d or MaxPool3d or Flatten or Dropout or Identity);
        foreach (var (name, leaf) in leaves)
        {
            if (rules.TryGetValue(name, out var ruled))
                hooks.Add(name, leaf, (input, output) => wrap(name, ModifiedGradient.Replace(input, output, (i, o, g) => ruled.Rule.Propagate(ruled.Layer, i, o, g))));
            else if (HookScope.IsActivation(leaf))
            {
                if (!(nativeRelu && leaf is TorchSharp.Modules.ReLU))
                    hooks.Add(name, leaf, (input, output) => wrap(name, ModifiedGradient.Replace(input, output, (i, o, g) => g.clone())));
            }
            else if (leaf.parameters().Any())
                throw new InvalidOperationException($"LRP has no rule for layer '{name}' ({leaf.GetType().Name}), which has parameters; fold it into the neighbouring linear layer (e.g. BatchNorm) or give the composite a rule for it.");
        }
    }
}

/// <summary>
/// Captum's LayerLRP: the relevance LRP assigns to a layer's units — its output, or its input with
/// <see cref="LayerAttributionMethod.AttributeToLayerInput"/> — at the layer's resolution. The rules
/// are those of <see cref="Lrp"/>; the relevance reaching the layer in the backward pass, seeded with
/// 1, is R / f(x), so the map is that times f(x). The convergence delta is Σ R_layer − f(x)
/// (conservation at the layer, exact for LRP-0/ε→0 without biases).
/// </summary>
public sealed class LayerLrp(AttributionModel model, string layer, LrpComposite composite, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : LayerAttributionMethod(model, layer, attributeToLayerInput, settings)
{
    public LrpComposite Composite { get; } = composite ?? throw new ArgumentNullException(nameof(composite));
    public override string Name => "LayerLrp";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(base.Parameters) { ["composite"] = Composite.Name };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var tapped = HookScope.Layer(RequireModule(), Layer);
        Tensor? kept = null;
        // Keep an alias and hand an alias of it on: containers dispose what they pass along.
        Tensor Tap(Tensor value)
        {
            kept = value.alias();
            return kept.alias();
        }
        bool tapOutput = !AttributeToLayerInput;
        using var hooks = new HookScope();
        Lrp.InstallRules(this, Composite, hooks, (name, t) => tapOutput && name == Layer ? Tap(t) : t);
        if (AttributeToLayerInput) hooks.AddPre($"{Layer} (input tap)", tapped, Tap);
        else if (!hooks.Fired.ContainsKey(Layer)) hooks.Add(Layer, tapped, (input, output) => Tap(output));
        string where = AttributeToLayerInput ? $"the input of layer '{Layer}'" : $"layer '{Layer}'";
        Tensor? map = null;
        var delta = torch.zeros(c.BatchSize, c.Inputs.dtype, c.Inputs.device);
        ForEachChunk(c.BatchSize, (s, n) =>
        {
            using var enable = torch.enable_grad();
            var x = c.Inputs.narrow(0, s, n).detach().requires_grad_(true);
            hooks.ResetCounts();
            var output = Model.Forward(x);
            hooks.Audit(Name);
            var fx = c.Target.Score(output, s);
            var grad = Model.Gradient(fx.sum(), kept!, where);
            using var noGrad = torch.no_grad();
            var relevance = grad * fx.detach().reshape(RowShape(n, (int)grad.dim()));
            map ??= torch.zeros(new[] { c.BatchSize }.Concat(grad.shape.Skip(1)).ToArray(), grad.dtype, grad.device).MoveToOuterDisposeScope();
            map.narrow(0, s, n).copy_(relevance);
            delta.narrow(0, s, n).copy_(relevance.flatten(1).sum(1) - fx.detach());
        });
        return new(map!, delta);
    }
}
