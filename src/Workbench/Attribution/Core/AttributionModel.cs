using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The model being explained: any forward function, optionally with the module behind it (needed
/// by methods that hook layers and to switch training mode off). Counts passes for the result's
/// metadata and the cost table.
/// </summary>
public sealed class AttributionModel
{
    readonly Func<Tensor, Tensor>? _forward;
    readonly Func<Tensor[], Tensor>? _several;

    /// <summary>The module of a model of one input (its forward is the model's); null for a function.</summary>
    public nn.Module<Tensor, Tensor>? Module { get; }

    /// <summary>
    /// The module whose layers hook-based methods hook, whose mode is switched to eval for a call and
    /// whose calls are serialised: <see cref="Module"/>, or the module given with a model of several inputs.
    /// </summary>
    public nn.Module? HookedModule { get; }
    public string Name { get; }
    public long ForwardPasses { get; private set; }
    public long ExamplesEvaluated { get; private set; }
    public long BackwardPasses { get; private set; }

    public AttributionModel(nn.Module<Tensor, Tensor> module)
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        HookedModule = module;
        _forward = module.call; // call(), not forward(): forward hooks must fire
        Name = module.GetName();
    }

    public AttributionModel(Func<Tensor, Tensor> forward, string name = "function")
    {
        _forward = forward ?? throw new ArgumentNullException(nameof(forward));
        Name = name;
    }

    /// <summary>
    /// A function over <paramref name="module"/> (e.g. one unit of a layer, for neuron methods) whose
    /// hooks, mode and memory probe are the module's, so hook-based methods can explain it.
    /// </summary>
    internal AttributionModel(Func<Tensor, Tensor> forward, nn.Module module, string name)
    {
        _forward = forward;
        Module = module as nn.Module<Tensor, Tensor>; // for the memory probe only
        HookedModule = module;
        Name = name;
    }

    AttributionModel(Func<Tensor[], Tensor> forward, nn.Module? module, string name)
    {
        _several = forward ?? throw new ArgumentNullException(nameof(forward));
        HookedModule = module;
        Name = name;
    }

    /// <summary>
    /// A model of several input tensors (Captum's tuple of inputs; extra arguments are closed over):
    /// explained with <c>AttributionMethod.Attribute(Tensor[] inputs, ...)</c>, one
    /// map per input. <paramref name="forward"/> gets the inputs in their own shapes [n, ...sᵢ].
    /// </summary>
    /// <param name="module">The module <paramref name="forward"/> runs (e.g. a Module&lt;Tensor, Tensor, Tensor&gt;): given, hook-based
    /// methods (DeepLIFT, LRP, guided backpropagation) can explain the model and its mode is switched to eval for a call.</param>
    public static AttributionModel SeveralInputs(Func<Tensor[], Tensor> forward, nn.Module? module = null, string? name = null) =>
        new(forward, module, name ?? module?.GetName() ?? "function");

    /// <summary>A function of several inputs without a module (gradient and feature-mask methods), named.</summary>
    public static AttributionModel SeveralInputs(Func<Tensor[], Tensor> forward, string name) => new(forward, null, name);

    /// <summary>True for a model of several input tensors (<c>SeveralInputs</c>).</summary>
    public bool TakesSeveralInputs => _several is not null;

    /// <summary>The layout of the call in progress with several inputs (the model unpacks its rows with it).</summary>
    internal InputLayout? Layout { get; set; }

    /// <summary>Serialises calls with several inputs on this model (the layout is per call).</summary>
    internal object LayoutGate { get; } = new();

    public static implicit operator AttributionModel(nn.Module<Tensor, Tensor> module) => new(module);
    public static implicit operator AttributionModel(Func<Tensor, Tensor> forward) => new(forward);

    /// <summary>
    /// The model's output for a pass; it must have one row per input row ([n, ...]): a scalar or an
    /// output reduced over the batch would be explained as if it belonged to each example.
    /// </summary>
    public Tensor Forward(Tensor inputs)
    {
        ForwardPasses++;
        ExamplesEvaluated += inputs.shape[0];
        LastPassShape = inputs.shape;
        var output = _forward is not null ? _forward(inputs)
            : _several!(Layout?.Unpack(inputs) ?? throw new ArgumentException(
                $"the model '{Name}' takes several input tensors: call Attribute(Tensor[] inputs, ...) with one tensor per input.", "inputs"));
        if (output.dim() == 0 || output.shape[0] != inputs.shape[0])
            throw new ModelContractException(
                $"the model '{Name}' returned an output of shape [{string.Join(", ", output.shape)}] for a pass of {inputs.shape[0]} examples; " +
                "attribution needs one output row per example ([batch, ...]): a model that returns a 0-D scalar or reduces over the batch cannot be explained per example.");
        return output;
    }

    /// <summary>The modules behind the model: its module, or the modules a function calls (its target or closure).</summary>
    public IReadOnlyList<nn.Module> Modules => HookedModule is not null ? new[] { HookedModule } : Workbench.Models.EvalMode.ModulesBehind(Function);

    /// <summary>Puts <see cref="Modules"/> in eval mode until disposed (dropout off, batch-norm statistics frozen), then restores them.</summary>
    public Workbench.Models.EvalMode EvalMode() => HookedModule is not null ? Workbench.Models.EvalMode.Enter(HookedModule) : Workbench.Models.EvalMode.Enter(Function);

    /// <summary>The forward function: of one input, or of several (<c>SeveralInputs</c>).</summary>
    Delegate Function => (Delegate?)_forward ?? _several!;

    /// <summary>The shape of the last pass (for error messages that must tell a pass from the caller's batch).</summary>
    internal long[]? LastPassShape { get; private set; }

    /// <summary>
    /// d Σ score / d <paramref name="inputs"/>, counted as one backward pass. A score that does not
    /// depend on <paramref name="inputs"/> is an error naming <paramref name="of"/>: libtorch's own
    /// error here is thrown where TorchSharp cannot catch it and would abort the process.
    /// </summary>
    public Tensor Gradient(Tensor score, Tensor inputs, string of = "its input", bool retainGraph = false)
    {
        if (!score.requires_grad)
            throw new ModelContractException(
                $"the output of model '{Name}' does not depend on {of}: the target score carries no gradient (the model runs under no_grad, detaches its input, or is constant), so a gradient method has nothing to attribute.");
        BackwardPasses++;
        var grad = autograd.grad(new[] { score }, new[] { inputs }, retain_graph: retainGraph, allow_unused: true)[0];
        if (grad is null || grad.IsInvalid)
            throw new ModelContractException($"the output of model '{Name}' does not depend on {of}: it is not on the path from the input to the target score.");
        return grad;
    }

    internal (long Forward, long Examples, long Backward) Counters => (ForwardPasses, ExamplesEvaluated, BackwardPasses);
}

/// <summary>The model broke what attribution relies on (one output row per example, an output that depends on the input).</summary>
public sealed class ModelContractException(string message) : InvalidOperationException(message);
