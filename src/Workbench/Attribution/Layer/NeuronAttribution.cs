using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The base of neuron methods (Captum's NeuronAttribution): an input attribution of one unit of a
/// layer — <see cref="Neuron"/> indexes the layer's value per example (e.g. [channel, row, column],
/// or [unit]) — instead of a model output. The unit is fixed at construction, so Attribute takes no
/// target. Implemented as the input method applied to the function "inputs → that unit's value".
/// </summary>
public abstract class NeuronAttribution : AttributionMethod
{
    protected NeuronAttribution(AttributionModel model, string layer, long[] neuron, bool attributeToLayerInput, AttributionSettings? settings) : base(model, settings)
    {
        Layer = layer ?? throw new ArgumentNullException(nameof(layer));
        Neuron = neuron is { Length: > 0 } ? neuron.ToArray() : throw new ArgumentException("neuron must index the layer's value per example, e.g. [channel, row, column].", nameof(neuron));
        AttributeToLayerInput = attributeToLayerInput;
    }

    public string Layer { get; }
    public long[] Neuron { get; }
    public bool AttributeToLayerInput { get; }
    protected override bool TakesTarget => false;

    // The input method runs on rows of the inputs: several inputs packed side by side work as one.
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["layer"] = Layer, ["neuron"] = $"[{string.Join(", ", Neuron)}]", ["attribute_to_layer_input"] = AttributeToLayerInput,
    };

    /// <summary>
    /// The unit's value as a model with one output [n, 1] (the rest of the network runs but is not
    /// used), over the same module: hook-based methods install their rules on it, and the unit's tap,
    /// added after them, sees the rules' output (a rule on the tapped layer itself applies).
    /// </summary>
    protected AttributionModel UnitModel() =>
        new((Tensor x) => Unit(TappedForward(x).Layer), RequireModule(), $"{Model.Name}.{Layer}[{string.Join(", ", Neuron)}]");

    /// <summary>
    /// The model's forward with the layer's value kept (an alias the rest of the network consumes, so
    /// gradients w.r.t. it are taken on the graph): the layer's value [n, ...] and the model's output.
    /// </summary>
    protected (Tensor Layer, Tensor Output) TappedForward(Tensor x)
    {
        var hooked = HookScope.Layer(RequireModule(), Layer);
        Tensor? kept = null;
        Tensor output;
        using (var hooks = new HookScope())
        {
            // Keep an alias and hand an alias of it on: containers dispose what they pass along (see GradCam).
            if (AttributeToLayerInput) hooks.AddPre(Layer, hooked, input => { kept = input.alias(); return kept.alias(); });
            else hooks.Add(Layer, hooked, (input, output) => { kept = output.alias(); return kept.alias(); });
            output = Model.Forward(x); // counted in this call's passes; the hooks fire through call()
            hooks.Audit(Name);
        }
        return (kept!, output);
    }

    /// <summary>The unit's column of the layer's value [n, ...] -> [n, 1]; an index outside the layer is an error.</summary>
    protected Tensor Unit(Tensor layer)
    {
        var perExample = layer.shape[1..];
        if (perExample.Length != Neuron.Length || Neuron.Where((i, d) => i < 0 || i >= perExample[d]).Any())
            throw new ArgumentOutOfRangeException("neuron", $"[{string.Join(", ", Neuron)}]", $"the neuron must index the value of {(AttributeToLayerInput ? "the input of " : "")}layer '{Layer}', which is [{string.Join(", ", perExample)}] per example.");
        long flat = 0;
        for (int d = 0; d < Neuron.Length; d++) flat = flat * perExample[d] + Neuron[d];
        return layer.flatten(1).narrow(1, flat, 1);
    }

    /// <summary>Runs <paramref name="method"/> (built on the unit's model) on the call's inputs and baselines.</summary>
    protected static AttributionOutput Run(AttributionMethod method, AttributionContext c)
    {
        var inner = method.Attribute(c.Inputs, baselines: c.Baselines);
        return new(inner.Map, inner.ConvergenceDelta);
    }
}

/// <summary>Captum's NeuronGradient: ∂(unit)/∂x for every example.</summary>
public sealed class NeuronGradient(AttributionModel model, string layer, long[] neuron, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public override string Name => "NeuronGradient";
    protected override AttributionOutput Compute(AttributionContext c) => Run(new Saliency(UnitModel(), absolute: false, Settings), c);
}

/// <summary>Captum's NeuronIntegratedGradients: IG of the unit's value, (x − x') ⊙ ∫ ∂(unit)/∂x; it sums to unit(x) − unit(x').</summary>
public sealed class NeuronIntegratedGradients(AttributionModel model, string layer, long[] neuron, int steps = 50, IntegrationRule rule = IntegrationRule.GaussLegendre,
    bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public int Steps { get; } = LayerIntegratedGradients.CheckedSteps(steps, rule);
    public IntegrationRule Rule { get; } = rule;
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "NeuronIntegratedGradients";
    protected override bool UsesBaselines => true;
    protected override AttributionOutput Compute(AttributionContext c) =>
        Run(new IntegratedGradients(UnitModel(), Steps, Rule, Settings, MultiplyByInputs), c);
}

/// <summary>
/// Captum's NeuronConductance (Dhamdhere et al., 2018): how much of the target's change flows from
/// each input feature through one unit, (x − x') ⊙ Σ_k w_k ∂y/∂a_n(x_k) · ∂a_n/∂x(x_k) along the
/// path x_k = x' + α_k (x − x') — IG restricted to the paths through the unit. Takes a target (the
/// output explained) and the unit at construction; trapezoid rule by default, as Captum.
/// </summary>
public sealed class NeuronConductance(AttributionModel model, string layer, long[] neuron, int steps = 50, IntegrationRule rule = IntegrationRule.RiemannTrapezoid,
    bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public int Steps { get; } = LayerIntegratedGradients.CheckedSteps(steps, rule);
    public IntegrationRule Rule { get; } = rule;
    public override string Name => "NeuronConductance";
    protected override bool TakesTarget => true;
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (alphas, weights) = Quadrature.Points(Rule, Steps);
        var baseline = BaselinePerExample(c);
        var diff = c.Inputs - baseline;
        var sum = torch.zeros_like(c.Inputs);
        using var alphaT = torch.tensor(alphas, c.Inputs.dtype, c.Inputs.device);
        using var weightT = torch.tensor(weights, c.Inputs.dtype, c.Inputs.device);
        var bcast = new[] { -1L }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray();
        ForEachChunk(alphas.Length * c.BatchSize, (start, n) =>
        {
            var (example, step) = RowIndices(c, start, n);
            using var enable = torch.enable_grad();
            var x = (baseline.index_select(0, example) + alphaT.index_select(0, step).reshape(bcast) * diff.index_select(0, example)).detach().requires_grad_(true);
            var (layer, output) = TappedForward(x);
            var unit = Unit(layer);
            // ∂a_n/∂x per row (rows are independent), then ∂y/∂a_n from the same graph.
            var unitGrad = Model.Gradient(unit.sum(), x, $"unit [{string.Join(", ", Neuron)}] of layer '{Layer}'", retainGraph: true);
            var outputGrad = Unit(Model.Gradient(c.Target.Score(output, start).sum(), layer, $"layer '{Layer}'")); // [n, 1]
            var w = weightT.index_select(0, step).reshape(bcast);
            sum.index_add_(0, example, unitGrad * outputGrad.reshape(bcast) * w, 1);
        });
        return new(diff * sum);
    }
}

/// <summary>Captum's NeuronGuidedBackprop: guided backpropagation of one unit's value (the guided ReLU rule on every ReLU, the tapped one included).</summary>
public sealed class NeuronGuidedBackprop(AttributionModel model, string layer, long[] neuron, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public override string Name => "NeuronGuidedBackprop";
    protected override AttributionOutput Compute(AttributionContext c) => Run(new GuidedBackprop(UnitModel(), Settings), c);
}

/// <summary>Captum's NeuronDeconvolution: deconvolution of one unit's value (the positive part of the gradient through every ReLU, the tapped one included).</summary>
public sealed class NeuronDeconvolution(AttributionModel model, string layer, long[] neuron, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public override string Name => "NeuronDeconvolution";
    protected override AttributionOutput Compute(AttributionContext c) => Run(new Deconvolution(UnitModel(), Settings), c);
}

/// <summary>Captum's NeuronDeepLift: DeepLIFT of one unit's value against the baselines; it sums to unit(x) − unit(x') (the delta reports the gap).</summary>
public sealed class NeuronDeepLift(AttributionModel model, string layer, long[] neuron, bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "NeuronDeepLift";
    protected override bool UsesBaselines => true;
    protected override AttributionOutput Compute(AttributionContext c) => Run(new DeepLift(UnitModel(), MultiplyByInputs, Settings), c);
}

/// <summary>Captum's NeuronDeepLiftShap: NeuronDeepLift against each baseline of a set [K, ...], averaged.</summary>
public sealed class NeuronDeepLiftShap(AttributionModel model, string layer, long[] neuron, bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "NeuronDeepLiftShap";
    protected override bool UsesBaselines => true;
    protected override AttributionOutput Compute(AttributionContext c) => Run(new DeepLiftShap(UnitModel(), MultiplyByInputs, Settings), c);
}

/// <summary>Captum's NeuronGradientShap: GradientSHAP of one unit's value (baselines drawn from the set, α ~ U(0, 1), noise of <see cref="Stdev"/>).</summary>
public sealed class NeuronGradientShap(AttributionModel model, string layer, long[] neuron, int samples = 50, double stdev = 0.0, int seed = 0,
    bool multiplyByInputs = true, bool attributeToLayerInput = false, AttributionSettings? settings = null)
    : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public int Samples { get; } = samples >= 1 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 1.");
    public double Stdev { get; } = stdev >= 0 ? stdev : throw new ArgumentOutOfRangeException(nameof(stdev), stdev, "stdev must be >= 0.");
    public int Seed { get; } = seed;
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public override string Name => "NeuronGradientShap";
    protected override bool UsesBaselines => true;
    protected override AttributionOutput Compute(AttributionContext c) => Run(new GradientShap(UnitModel(), Samples, Stdev, Seed, Settings, MultiplyByInputs), c);
}

/// <summary>Captum's NeuronFeatureAblation: the drop of one unit's value when each feature of a mask (default: every element) is set to the baseline.</summary>
public sealed class NeuronFeatureAblation(AttributionModel model, string layer, long[] neuron, Tensor? featureMask = null, bool attributeToLayerInput = false,
    AttributionSettings? settings = null) : NeuronAttribution(model, layer, neuron, attributeToLayerInput, settings)
{
    public Tensor? FeatureMask { get; } = featureMask;
    public override string Name => "NeuronFeatureAblation";
    protected override bool UsesBaselines => true;
    protected override AttributionOutput Compute(AttributionContext c) => Run(new FeatureAblation(UnitModel(), FeatureMask, Settings), c);
}
