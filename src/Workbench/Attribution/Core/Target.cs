using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// What to explain: which scalar of the model's output each example's map is about. Captum's most
/// confused argument made explicit: one class for all, a class per example, the predicted class,
/// or any per-example selector over the output (regression, multi-output, a logit difference).
/// </summary>
public abstract record Target
{
    /// <summary>The same class for every example.</summary>
    public static Target Class(long index) => new ClassTarget(index);

    /// <summary>One class per example (length = batch size).</summary>
    public static Target PerExample(long[] classes) => new PerExampleTarget(classes);

    /// <summary>One class per example from an integer tensor [B] (int64, int32, ...; a float tensor is refused, not truncated).</summary>
    public static Target PerExample(Tensor classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.is_floating_point() || classes.is_complex() || classes.dtype == ScalarType.Bool)
            throw new ArgumentException($"classes must be an integer tensor (int64 or int32) of class indices; got {classes.dtype}. Round or convert explicitly if the values are whole numbers.", nameof(classes));
        if (classes.dim() != 1) throw new ArgumentException($"classes must be a vector [batch]; got shape [{string.Join(", ", classes.shape)}].", nameof(classes));
        return new PerExampleTarget(classes.to_type(ScalarType.Int64).cpu().data<long>().ToArray());
    }

    /// <summary>Each example's predicted class (argmax of the output at the input).</summary>
    public static readonly Target Predicted = new PredictedTarget();

    /// <summary>
    /// The model's only output, for models that return one value per example ([batch] or
    /// [batch, 1]: a regression, a score, a binary logit). The default when no target is given.
    /// </summary>
    public static readonly Target Output = new SingleOutputTarget();

    /// <summary>Any per-example scalar of the output: <paramref name="select"/> maps output [n, ...] to [n] row by row (each row's value from that row alone).</summary>
    public static Target Selector(Func<Tensor, Tensor> select, string name = "selector") => new SelectorTarget(select, name);

    public static implicit operator Target(long index) => Class(index);
    public static implicit operator Target(long[] classes) => PerExample(classes);
    /// <summary>A label tensor [N] is the per-example target, as the metrics take it: one target type for methods and metrics.</summary>
    public static implicit operator Target(Tensor classes) => PerExample(classes);

    /// <summary>
    /// Binds the target to a batch of <paramref name="batchSize"/> examples. Only the predicted-class
    /// target needs the model's output at the inputs (<paramref name="outputAtInputs"/>, computed on
    /// demand); class ranges and selector shapes are checked on the first output the method scores.
    /// </summary>
    internal abstract ResolvedTarget Resolve(long batchSize, Func<Tensor> outputAtInputs);

    public abstract string Describe();

    internal static void CheckClasses(IReadOnlyList<long> classes, Tensor output)
    {
        if (output.dim() < 2)
            throw new ArgumentException($"a class target needs an output of shape [batch, classes]; the model returns {RowShape(output)}. Use Target.Selector for other outputs.", "target");
        long count = output.shape[1];
        foreach (var c in classes)
            if (c < 0 || c >= count) throw new ArgumentOutOfRangeException("target", c, $"target class must be in [0, {count - 1}] (the model has {count} outputs); got {c}.");
    }

    /// <summary>An output's shape per batch, "[batch, 10]", whatever the size of the pass it came from (a chunk, a probe).</summary>
    internal static string RowShape(Tensor output) =>
        output.dim() == 0 ? "a 0-D scalar (shape [])" : $"[batch{string.Concat(output.shape.Skip(1).Select(d => $", {d}"))}]";

    /// <summary>An already bound target, for a method that runs another on an expanded batch (noise samples, a method combined with another).</summary>
    internal static Target Bound(ResolvedTarget target, string description) => new BoundTarget(target, description);

    sealed record BoundTarget(ResolvedTarget Target, string Description) : Target
    {
        internal override ResolvedTarget Resolve(long batchSize, Func<Tensor> output) => Target.Tile(batchSize);
        public override string Describe() => Description;
    }

    sealed record SingleOutputTarget : Target
    {
        internal override ResolvedTarget Resolve(long batchSize, Func<Tensor> output) => new(null, Select);
        public override string Describe() => "the output";

        static Tensor Select(Tensor output)
        {
            if (output.dim() == 1) return output;
            if (output.dim() == 2 && output.shape[1] == 1) return output.select(1, 0);
            long perExample = output.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            throw new ArgumentException(
                $"no target was given, which means the model's single output; the model returns {RowShape(output)}, {perExample} values per example. " +
                "Say which to explain: a class index, Target.PerExample, Target.Predicted or Target.Selector.", "target");
        }
    }

    sealed record ClassTarget(long Index) : Target
    {
        internal override ResolvedTarget Resolve(long batchSize, Func<Tensor> output) => new(Enumerable.Repeat(Index, (int)batchSize).ToArray(), null);
        public override string Describe() => $"class {Index}";
    }

    sealed record PerExampleTarget(long[] Classes) : Target
    {
        internal override ResolvedTarget Resolve(long batchSize, Func<Tensor> output)
        {
            if (Classes.Length != batchSize)
                throw new ArgumentException($"target must give one class per example ({batchSize}); got {Classes.Length}.", "target");
            return new(Classes, null);
        }
        public override string Describe() => "per-example classes";
    }

    sealed record PredictedTarget : Target
    {
        internal override ResolvedTarget Resolve(long batchSize, Func<Tensor> output)
        {
            var o = output();
            if (o.dim() < 2) throw new ArgumentException($"the predicted-class target needs an output of shape [batch, classes]; the model returns {RowShape(o)}.", "target");
            return new(o.argmax(1).cpu().data<long>().ToArray(), null);
        }
        public override string Describe() => "predicted class";
    }

    sealed record SelectorTarget(Func<Tensor, Tensor> Select, string Name) : Target
    {
        internal override ResolvedTarget Resolve(long batchSize, Func<Tensor> output) => new(null, Select);
        public override string Describe() => Name;
    }
}

/// <summary>
/// A target bound to a batch of B examples. Batch-expanding methods evaluate rows of an expanded
/// batch (row r belongs to example r mod B), so scores are taken for a range of rows.
/// </summary>
public sealed class ResolvedTarget
{
    readonly long[]? _classes;
    readonly Func<Tensor, Tensor>? _select;
    bool _checked;

    internal ResolvedTarget(long[]? classes, Func<Tensor, Tensor>? select)
    {
        _classes = classes;
        _select = select;
        if (classes is { Length: > 0 } && classes.All(c => c == classes[0])) _single = classes[0];
    }

    readonly long? _single;

    /// <summary>
    /// The target for a batch of <paramref name="batchSize"/> rows made of copies of this batch
    /// (row r is example r mod B): classes repeated; a selector, which works row by row, as it is.
    /// </summary>
    internal ResolvedTarget Tile(long batchSize)
    {
        if (_select is not null) return this;
        long b = _classes!.Length;
        if (batchSize % b != 0)
            throw new ArgumentException($"a target bound to {b} examples cannot be tiled over {batchSize} rows.", "target");
        return new ResolvedTarget(Enumerable.Range(0, (int)(batchSize / b)).SelectMany(_ => _classes).ToArray(), null);
    }

    /// <summary>The target of examples <paramref name="examples"/> of the batch, bound to them as a batch of their own.</summary>
    internal ResolvedTarget Subset(IReadOnlyList<long> examples) =>
        _select is not null ? this : new ResolvedTarget(examples.Select(e => _classes![e]).ToArray(), null);

    /// <summary>The class per example, when the target is a class target.</summary>
    public IReadOnlyList<long>? Classes => _classes;

    /// <summary>The target score of output rows [firstRow, firstRow + n) of an expanded batch -> [n].</summary>
    public Tensor Score(Tensor output, long firstRow = 0)
    {
        if (output.dim() == 0)
            throw new ArgumentException("the model returned a 0-D scalar; a target selects one value per example from an output [batch, ...].", "target");
        if (_select is not null)
        {
            var s = _select(output);
            if (s.dim() != 1 || s.shape[0] != output.shape[0])
                throw new ArgumentException($"the target selector must map the model's output {Target.RowShape(output)} to one value per example [batch]; it returned {(s.dim() == 0 ? "a 0-D scalar" : $"[{string.Join(", ", s.shape)}] for a pass of {output.shape[0]} rows")}.", "target");
            return s;
        }
        if (!_checked)
        {
            Target.CheckClasses(_classes!, output);
            _checked = true;
        }
        long n = output.shape[0], b = _classes!.Length;
        if (_single is { } only) return output.select(1, only); // one class for every row: no index tensor needed
        var rows = new long[n];
        for (long r = 0; r < n; r++) rows[r] = _classes[(firstRow + r) % b];
        using var index = torch.tensor(rows, device: output.device).unsqueeze(1);
        return output.gather(1, index).squeeze(1);
    }
}
