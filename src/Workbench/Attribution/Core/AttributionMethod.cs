using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>Everything a method's computation sees of one call.</summary>
/// <param name="Inputs">The batch [B, ...], validated.</param>
/// <param name="Baselines">Baselines as the method received them (null when not given), validated against the inputs.</param>
/// <param name="Target">The target bound to the batch.</param>
/// <param name="LazyOutput">The model's output at the inputs (no graph), computed on demand.</param>
public sealed record AttributionContext(Tensor Inputs, Tensor? Baselines, ResolvedTarget Target, Lazy<Tensor> LazyOutput)
{
    /// <summary>With several input tensors, how they are packed in <see cref="Inputs"/> [B, E] (null for one input).</summary>
    public InputLayout? Layout { get; init; }

    /// <summary>The model's output at the inputs (no graph), computed on first use: most methods never need it.</summary>
    public Tensor OutputAtInputs => LazyOutput.Value;

    public long BatchSize => Inputs.shape[0];
    public long[] ExampleShape => Inputs.shape[1..];
    public long ElementsPerExample => ExampleShape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>What a method computes: the map, and the convergence delta where defined.</summary>
public sealed record AttributionOutput(Tensor Map, Tensor? ConvergenceDelta = null);

/// <summary>
/// The base of every attribution method (Captum's Attribution): one call shape
/// <c>Attribute(inputs, target, baselines)</c>, input validation, target resolution, the switch to
/// eval mode, pass counting, and helpers for chunked gradients and scores.
/// <para>
/// Concurrency: calls on one model (an <see cref="AttributionModel"/> with a module) run one at a
/// time — a second thread waits. Hook-based methods install hooks on the shared modules and the eval
/// switch changes the shared mode, so concurrent calls would see each other's hooks. Calls on
/// different models run in parallel. A plain function model cannot be guarded: do not run it in
/// parallel with a hook-based method on the module it wraps.
/// </para>
/// </summary>
public abstract class AttributionMethod
{
    protected AttributionMethod(AttributionModel model, AttributionSettings? settings)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Settings = settings ?? AttributionSettings.Default;
    }

    public AttributionModel Model { get; }
    public AttributionSettings Settings { get; }

    /// <summary>Short name, e.g. "IntegratedGradients".</summary>
    public abstract string Name { get; }

    /// <summary>The parameters that decide the result (for the result's metadata and tables).</summary>
    public virtual IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>();

    /// <summary>False for methods that explain what they were constructed with (a neuron): a target is then refused.</summary>
    protected virtual bool TakesTarget => true;

    /// <summary>True for methods that need baselines to be meaningful (they default to zeros).</summary>
    protected virtual bool UsesBaselines => false;

    /// <summary>
    /// Explains <paramref name="target"/> for every example of <paramref name="inputs"/> [B, ...]. No
    /// target means the model's single output (<see cref="Target.Output"/>: models returning [B] or [B, 1]).
    /// </summary>
    public Attribution Attribute(Tensor inputs, Target? target = null, Tensor? baselines = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!TakesTarget && target is not null && !ReferenceEquals(target, Target.Output))
            throw new ArgumentException($"{Name} explains the unit it was constructed with; pass no target (got {target.Describe()}).", nameof(target));
        target ??= Target.Output;
        using (torch.NewDisposeScope()) Validate(inputs, baselines);
        var module = Model.HookedModule;
        object? gate = module is null ? null : ModelGates.GetValue(module, _ => new object());
        bool locked = false;
        try
        {
            if (gate is not null) Monitor.Enter(gate, ref locked);
            using var evalMode = module is null ? null : Workbench.Models.EvalMode.Enter(module);
            var before = Model.Counters;
            Tensor? atInputs = null;
            try
            {
                using var scope = torch.NewDisposeScope();
                // Owned by the call, wherever it is first needed (often inside a chunk's scope, which would dispose it).
                var output = new Lazy<Tensor>(() => { using var noGrad = torch.no_grad(); return atInputs = Scores(inputs).DetachFromDisposeScope(); });
                _bytesPerRow = MeasureBytesPerRow(inputs);
                var context = new AttributionContext(inputs, baselines, target.Resolve(inputs.shape[0], () => output.Value), output) { Layout = Model.Layout };
                var result = Compute(context);
                var after = Model.Counters;
                var map = result.Map.detach().MoveToOuterDisposeScope();
                var delta = result.ConvergenceDelta?.detach().MoveToOuterDisposeScope();
                return new Attribution(map, Name, Parameters, target.Describe(), delta,
                    after.Forward - before.Forward, after.Examples - before.Examples, after.Backward - before.Backward, evalMode is { Switched: > 0 });
            }
            catch (ModelContractException e)
            {
                throw new ModelContractException($"{Name} on inputs [{string.Join(", ", inputs.shape)}]: {e.Message}");
            }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                throw ModelFailure(inputs, Model.LastPassShape, e);
            }
            finally
            {
                atInputs?.Dispose();
            }
        }
        finally
        {
            if (locked) Monitor.Exit(gate!);
        }
    }

    /// <summary>
    /// libtorch's message names the shape of one pass (the one-example memory probe, or a chunk) and
    /// carries a long C++ frame dump: report the caller's inputs, the pass, and libtorch's first line.
    /// </summary>
    Exception ModelFailure(Tensor inputs, long[]? pass, System.Runtime.InteropServices.ExternalException e)
    {
        string passNote = pass is not null && !pass.SequenceEqual(inputs.shape) ? $"; libtorch saw one pass of shape [{string.Join(", ", pass)}], a part of them" : "";
        return new InvalidOperationException(
            $"{Name}: the model '{Model.Name}' failed on inputs of shape [{string.Join(", ", inputs.shape)}] ({inputs.dtype}, {inputs.device}){passNote}: {e.Message.Split('\n')[0].Trim()}", e);
    }

    /// <summary>
    /// True for methods that treat every input element alike (gradients, paths, noise, feature
    /// masks), which therefore explain several input tensors packed side by side in one row.
    /// </summary>
    protected internal virtual bool HandlesSeveralInputs => false;

    /// <summary>True when the map has the inputs' shape (split per input); false for maps of a layer's units.</summary>
    protected internal virtual bool MapsPerInput => true;

    /// <summary>
    /// Explains a model of several input tensors (<c>AttributionModel.SeveralInputs</c>;
    /// Captum's tuple of inputs): inputs[i] is [B, ...sᵢ], the same B for all; baselines, when given,
    /// one tensor per input, each [...sᵢ] or [1 or B or K, ...sᵢ] with the same leading size for all
    /// inputs. The result has one map per input in its own shape (layer methods: one map, the layer's). Feature masks of perturbation
    /// methods are given per input (<see cref="PerturbationAttribution.FeatureMasks"/>); an id names
    /// the same feature in every input, as in Captum.
    /// </summary>
    public MultiInputAttribution Attribute(Tensor[] inputs, Target? target = null, Tensor[]? baselines = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!Model.TakesSeveralInputs)
            throw new ArgumentException($"{Name}: the model '{Model.Name}' takes one input tensor; got {inputs.Length}. Wrap a model of several inputs with AttributionModel.SeveralInputs.", nameof(inputs));
        if (!HandlesSeveralInputs)
            throw new ArgumentException($"{Name} reads the geometry of one input tensor (windows, images or layers) and does not take several inputs; the gradient, path, noise and feature-mask methods do.", nameof(inputs));
        if (inputs.Length == 0) throw new ArgumentException("inputs must hold at least one tensor.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"inputs[{i}] is null.");
            if (inputs[i].dim() < 2)
                throw new ArgumentException($"inputs[{i}] must be a batch [batch, ...] with at least 2 dimensions; got shape [{string.Join(", ", inputs[i].shape)}].", nameof(inputs));
            if (inputs[i].shape[0] != inputs[0].shape[0])
                throw new ArgumentException($"every input must have the same batch size; inputs[{i}] has {inputs[i].shape[0]}, inputs[0] has {inputs[0].shape[0]}.", nameof(inputs));
        }
        var layout = new InputLayout(inputs.Select(t => t.shape[1..]).ToArray());
        lock (Model.LayoutGate)
        {
            using var packed = layout.Pack(inputs, nameof(inputs));
            using var packedBaselines = baselines is null ? null : layout.Pack(baselines, nameof(baselines));
            Model.Layout = layout;
            try
            {
                var result = Attribute(packed, target, packedBaselines);
                return new MultiInputAttribution(result, MapsPerInput ? layout.Unpack(result.Map) : new[] { result.Map.alias() });
            }
            finally { Model.Layout = null; }
        }
    }

    /// <summary>One gate per module: calls on one model are serialised (see the class remarks).</summary>
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<nn.Module, object> ModelGates = new();

    /// <summary>Several targets in one call, one result each.</summary>
    public IReadOnlyList<Attribution> Attribute(Tensor inputs, IEnumerable<Target> targets, Tensor? baselines = null) =>
        targets.Select(t => Attribute(inputs, t, baselines)).ToList();

    protected abstract AttributionOutput Compute(AttributionContext context);

    void Validate(Tensor inputs, Tensor? baselines)
    {
        if (Model.TakesSeveralInputs && Model.Layout is null)
            throw new ArgumentException($"{Name}: the model '{Model.Name}' takes several input tensors; call Attribute(Tensor[] inputs, ...) with one tensor per input.", nameof(inputs));
        if (inputs.dim() < 2)
            throw new ArgumentException($"inputs must be a batch [batch, ...] with at least 2 dimensions; got shape [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        if (inputs.shape[0] == 0) throw new ArgumentException("inputs is an empty batch (0 examples); nothing to explain.", nameof(inputs));
        if (!inputs.is_floating_point()) throw new ArgumentException($"inputs must be floating point; got {inputs.dtype}.", nameof(inputs));
        if (!AllFinite(inputs)) throw new ArgumentException("inputs contain NaN or infinite values.", nameof(inputs));
        if (Model.HookedModule is { } module && module.parameters().FirstOrDefault(p => p.is_floating_point()) is { } parameter)
        {
            // Up front: libtorch's own mismatch error is a C++ dump that names neither argument.
            if (inputs.dtype != parameter.dtype)
                throw new ArgumentException($"inputs must have the dtype of the model's parameters, {parameter.dtype}; got {inputs.dtype}. Convert the inputs (inputs.to_type(ScalarType.{parameter.dtype})) or the model.", nameof(inputs));
            if (!SameDevice(inputs, parameter))
                throw new ArgumentException($"inputs must be on the model's device, {parameter.device}; got {inputs.device}. Move the inputs (inputs.to(...)) or the model.", nameof(inputs));
        }
        if (baselines is null) return;
        if (!SameDevice(baselines, inputs))
            throw new ArgumentException($"baselines must be on the inputs' device, {inputs.device}; got {baselines.device}.", nameof(baselines));
        if (!UsesBaselines) throw new ArgumentException($"{Name} takes no baselines; got a tensor of shape [{string.Join(", ", baselines.shape)}].", nameof(baselines));
        var example = inputs.shape[1..];
        bool sameRank = baselines.dim() == inputs.dim() && baselines.shape[1..].SequenceEqual(example);
        bool single = baselines.dim() == inputs.dim() - 1 && baselines.shape.SequenceEqual(example);
        if (!sameRank && !single)
            throw new ArgumentException(
                $"baselines must have shape [{string.Join(", ", example)}], [1 or {inputs.shape[0]} or K, {string.Join(", ", example)}]; got [{string.Join(", ", baselines.shape)}].", nameof(baselines));
        if (!AllFinite(baselines)) throw new ArgumentException("baselines contain NaN or infinite values.", nameof(baselines));
    }

    /// <summary>
    /// True when every element is finite. A finite sum proves it in one reduction without a mask
    /// (NaN and ±∞ propagate into the sum); only a non-finite sum (which can also be an overflow of
    /// large finite values) pays for the elementwise check. The sum is in the inputs' own dtype: a
    /// float64 accumulation converts every element and took 2.4× as long (110 vs 45 µs on 64 MNIST
    /// images), and an overflow only sends the check to the elementwise path.
    /// </summary>
    static bool AllFinite(Tensor t) => double.IsFinite(t.sum().to_type(ScalarType.Float64).item<double>()) || torch.isfinite(t).all().item<bool>();

    static bool SameDevice(Tensor a, Tensor b) => a.device_type == b.device_type && a.device_index == b.device_index;

    /// <summary>
    /// Baselines per example [B, ...] (expanded from one baseline, or zeros when none were given).
    /// Methods that average over several baselines use <see cref="BaselineSet"/> instead.
    /// </summary>
    protected static Tensor BaselinePerExample(AttributionContext c)
    {
        if (c.Baselines is null) return torch.zeros_like(c.Inputs);
        var b = c.Baselines.dim() == c.Inputs.dim() - 1 ? c.Baselines.unsqueeze(0) : c.Baselines;
        if (b.shape[0] == 1) return b.expand_as(c.Inputs).to_type(c.Inputs.dtype);
        if (b.shape[0] == c.BatchSize) return b.to_type(c.Inputs.dtype);
        throw new ArgumentException($"{b.shape[0]} baselines given for {c.BatchSize} examples; this method takes one baseline or one per example.", "baselines");
    }

    /// <summary>
    /// A method against each of K baselines [K, ...] (each broadcast to every example), averaged: the
    /// map and, where the method defines one, the convergence delta.
    /// </summary>
    protected static AttributionOutput AverageOverBaselines(AttributionContext c, Tensor set, Func<Tensor, AttributionOutput> explain)
    {
        long k = set.shape[0];
        Tensor? map = null, delta = null;
        for (long i = 0; i < k; i++)
        {
            var one = explain(set[i].unsqueeze(0).expand(c.Inputs.shape));
            map = map is null ? one.Map : map.add_(one.Map);
            if (one.ConvergenceDelta is { } d) delta = delta is null ? d : delta.add_(d);
        }
        return new(map! / k, delta is null ? null : delta / k);
    }

    /// <summary>A set of K baselines [K, ...] (a distribution to average or sample over; zeros when none were given).</summary>
    protected static Tensor BaselineSet(AttributionContext c)
    {
        if (c.Baselines is null) return torch.zeros(c.ExampleShape, c.Inputs.dtype, c.Inputs.device).unsqueeze(0);
        return (c.Baselines.dim() == c.Inputs.dim() - 1 ? c.Baselines.unsqueeze(0) : c.Baselines).to_type(c.Inputs.dtype);
    }

    double _bytesPerRow = double.NaN;
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<nn.Module, Dictionary<string, double>> ProbeCache = new();

    /// <summary>
    /// Memory one row (one example) costs in a forward/backward pass: a probe forward of one example
    /// with a hook on every leaf module adds up the tensors the model produces (cached per model and
    /// input shape). The budget then sets the rows per pass.
    /// </summary>
    double MeasureBytesPerRow(Tensor inputs)
    {
        long elementSize = inputs.ElementSize;
        long inputElements = inputs.numel() / inputs.shape[0];
        var module = Model.Module;
        if (module is null) return inputElements * Settings.FunctionBytesPerInputElement;
        string key = $"{string.Join("x", inputs.shape.Skip(1))}:{inputs.dtype}";
        var cache = ProbeCache.GetOrCreateValue(module);
        lock (cache)
        {
            if (cache.TryGetValue(key, out var known)) return known;
            long produced = inputElements;
            using (var hooks = new HookScope())
            {
                foreach (var (name, leaf) in HookScope.Leaves(module, _ => true))
                    hooks.Add(name, leaf, (input, output) => { produced += output.numel(); return output; });
                using var noGrad = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                try { module.call(inputs.narrow(0, 0, 1)); }
                catch (System.Runtime.InteropServices.ExternalException e) { throw ModelFailure(inputs, inputs.narrow(0, 0, 1).shape, e); }
            }
            return cache[key] = produced * elementSize * Settings.ActivationOverhead;
        }
    }

    /// <summary>Rows per pass for rows of <paramref name="examplesPerRow"/> examples each (e.g. 2 for DeepLIFT's pairs).</summary>
    protected internal long RowsPerPass(int examplesPerRow = 1) =>
        Settings.RowsPerPass((double.IsNaN(_bytesPerRow) ? 1 << 20 : _bytesPerRow) * examplesPerRow);

    /// <summary>Model outputs for a batch, chunked to the memory budget (no graph is kept by callers under no_grad).</summary>
    protected Tensor Scores(Tensor rows)
    {
        long per = RowsPerPass();
        if (rows.shape[0] <= per) return Model.Forward(rows);
        var parts = new List<Tensor>();
        for (long s = 0; s < rows.shape[0]; s += per) parts.Add(Model.Forward(rows.narrow(0, s, Math.Min(per, rows.shape[0] - s))));
        return torch.cat(parts.ToArray());
    }

    /// <summary>Target scores of rows [firstRow, firstRow + n) of an expanded batch, without gradients -> [n].</summary>
    protected Tensor TargetScores(Tensor rows, ResolvedTarget target, long firstRow)
    {
        using var noGrad = torch.no_grad();
        // Not disposed here: the score may be the output itself (a model with one output, a selector o => o).
        return target.Score(Model.Forward(rows), firstRow);
    }

    /// <summary>Gradient of each row's target score w.r.t. that row: rows [n, ...] of an expanded batch starting at <paramref name="firstRow"/>.</summary>
    /// <param name="scores">When given ([rows of the expanded batch]), receives each row's target score from the same forward pass.</param>
    protected Tensor TargetGradient(Tensor rows, ResolvedTarget target, long firstRow, Tensor? scores = null)
    {
        using var enable = torch.enable_grad();
        var x = rows.detach().requires_grad_(true);
        var score = target.Score(HookedForward(x), firstRow);
        scores?.narrow(0, firstRow, rows.shape[0]).copy_(score.detach());
        return Model.Gradient(score.sum(), x);
    }

    /// <summary>
    /// Example index (r mod B) and repetition index (r / B: the step, sample or perturbation) of rows
    /// [start, start + n) of an expanded batch. Integer division in int64: TorchSharp's
    /// torch.div(tensor, scalar, rounding mode) divides in float32 and ignores the mode, which picks
    /// wrong rows beyond 2^24.
    /// </summary>
    protected static (Tensor Example, Tensor Repetition) RowIndices(AttributionContext c, long start, long n)
    {
        var rows = torch.arange(start, start + n, dtype: ScalarType.Int64, device: c.Inputs.device);
        return (rows % c.BatchSize, torch.floor_divide(rows, c.BatchSize));
    }

    /// <summary>Hooks the method installed for the current call; every forward is audited against them.</summary>
    protected HookScope? ActiveHooks { get; set; }

    /// <summary>The model's forward with the audit of <see cref="ActiveHooks"/>: each hooked module must fire exactly once.</summary>
    protected Tensor HookedForward(Tensor x)
    {
        ActiveHooks?.ResetCounts();
        var output = Model.Forward(x);
        ActiveHooks?.Audit(Name);
        return output;
    }

    /// <summary>The module behind the model, required by methods that hook layers.</summary>
    protected internal nn.Module RequireModule() => Model.HookedModule
        ?? throw new InvalidOperationException($"{Name} hooks the model's layers, so it needs a module (nn.Module), not a plain function ('{Model.Name}'); " +
            "for a model of several inputs, pass its module to AttributionModel.SeveralInputs(forward, module).");

    /// <summary>d target / d input for every example of the batch (chunked) -> the inputs' shape.</summary>
    /// <param name="scores">When given ([B]), receives the target scores of the same forward passes (no second forward for methods that need F(x)).</param>
    protected Tensor InputGradient(AttributionContext c, Tensor? scores = null) => GradientOfRows(c.Inputs, c.Target, scores);

    /// <summary>d target / d row for every row of an expanded batch [N, ...] (row r is example r mod B), chunked.</summary>
    protected Tensor GradientOfRows(Tensor rows, ResolvedTarget target, Tensor? scores = null)
    {
        var parts = new List<Tensor>();
        ForEachChunk(rows.shape[0], (s, n) =>
            parts.Add(TargetGradient(rows.narrow(0, s, n), target, s, scores).MoveToOuterDisposeScope()));
        if (parts.Count == 1) return parts[0];
        var all = torch.cat(parts.ToArray());
        foreach (var p in parts) p.Dispose();
        return all;
    }

    /// <summary>
    /// Runs <paramref name="body"/> over rows [0, totalRows) of an expanded batch in chunks that fit
    /// the memory budget, each in its own dispose scope (tensors that must survive are moved out by the body).
    /// </summary>
    protected void ForEachChunk(long totalRows, Action<long, long> body, int examplesPerRow = 1) => ForEachChunkOf(totalRows, body, examplesPerRow);

    /// <summary><see cref="ForEachChunk"/> for the helpers of other methods (a method's computation shared with another).</summary>
    internal void ForEachChunkOf(long totalRows, Action<long, long> body, int examplesPerRow = 1)
    {
        long per = RowsPerPass(examplesPerRow);
        for (long start = 0; start < totalRows; start += per)
        {
            using var scope = torch.NewDisposeScope();
            body(start, Math.Min(per, totalRows - start));
        }
    }
}
