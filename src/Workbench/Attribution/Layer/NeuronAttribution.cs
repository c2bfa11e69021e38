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
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["layer"] = Layer, ["neuron"] = $"[{string.Join(", ", Neuron)}]", ["attribute_to_layer_input"] = AttributeToLayerInput,
    };

    /// <summary>The unit's value as a model with one output [n, 1] (the rest of the network runs but is not used).</summary>
    protected AttributionModel UnitModel()
    {
        var module = RequireModule();
        var hooked = HookScope.Layer(module, Layer);
        Tensor Forward(Tensor x)
        {
            Tensor? kept = null;
            using (var hooks = new HookScope())
            {
                // Keep an alias and hand an alias of it on: containers dispose what they pass along (see GradCam).
                if (AttributeToLayerInput) hooks.AddPre(Layer, hooked, input => { kept = input.alias(); return kept.alias(); });
                else hooks.Add(Layer, hooked, (input, output) => { kept = output.alias(); return kept.alias(); });
                Model.Forward(x); // counted in this call's passes; the hooks fire through call()
                hooks.Audit(Name);
            }
            var perExample = kept!.shape[1..];
            if (perExample.Length != Neuron.Length || Neuron.Where((i, d) => i < 0 || i >= perExample[d]).Any())
                throw new ArgumentOutOfRangeException("neuron", $"[{string.Join(", ", Neuron)}]", $"the neuron must index the value of {(AttributeToLayerInput ? "the input of " : "")}layer '{Layer}', which is [{string.Join(", ", perExample)}] per example.");
            long flat = 0;
            for (int d = 0; d < Neuron.Length; d++) flat = flat * perExample[d] + Neuron[d];
            return kept.flatten(1).narrow(1, flat, 1);
        }
        return new AttributionModel(Forward, $"{Model.Name}.{Layer}[{string.Join(", ", Neuron)}]");
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
