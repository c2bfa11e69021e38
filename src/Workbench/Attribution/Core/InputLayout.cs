using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// How several input tensors of one call (Captum's tuple of inputs) are laid side by side in one
/// row per example: input i [B, ...sᵢ] is flattened to [B, Eᵢ] and the parts are concatenated to
/// [B, E₁ + … + Eₙ]. Every method then works on that one packed tensor, with the core's targets,
/// baselines and chunking unchanged, and the model sees the inputs unpacked, in their own shapes.
/// Elementwise methods (gradients, paths, noise, feature masks) are exactly the same on the packed
/// row; methods that read the example's geometry (windows, images, layers) refuse it.
/// </summary>
public sealed class InputLayout
{
    readonly long[][] _shapes;
    readonly long[] _sizes;
    readonly long[] _offsets;

    /// <param name="shapes">Each input's shape per example (without the batch axis).</param>
    public InputLayout(IReadOnlyList<long[]> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        if (shapes.Count == 0) throw new ArgumentException("an input layout needs at least one input.", nameof(shapes));
        _shapes = shapes.Select(s => s.ToArray()).ToArray();
        _sizes = _shapes.Select(s => s.Aggregate(1L, (a, b) => a * b)).ToArray();
        _offsets = new long[_sizes.Length];
        for (int i = 1; i < _sizes.Length; i++) _offsets[i] = _offsets[i - 1] + _sizes[i - 1];
        Elements = _offsets[^1] + _sizes[^1];
    }

    public int Count => _shapes.Length;

    /// <summary>Input <paramref name="i"/>'s shape per example.</summary>
    public long[] Shape(int i) => _shapes[i].ToArray();

    /// <summary>Where input <paramref name="i"/> lies in the packed row: [Offset, Offset + Size).</summary>
    public (long Offset, long Size) Segment(int i) => (_offsets[i], _sizes[i]);

    /// <summary>Elements per packed row (E₁ + … + Eₙ).</summary>
    public long Elements { get; }

    /// <summary>
    /// Tensors [L, ...sᵢ] (one per input, the same L) -> [L, E]. A tensor of the example's shape
    /// alone ([...sᵢ]) counts as L = 1. <paramref name="argument"/> names the caller's argument in errors.
    /// </summary>
    public Tensor Pack(IReadOnlyList<Tensor> tensors, string argument)
    {
        ArgumentNullException.ThrowIfNull(tensors, argument);
        if (tensors.Count != Count)
            throw new ArgumentException($"{argument} must give one tensor per input ({Count}); got {tensors.Count}.", argument);
        var rows = new Tensor[Count];
        long? leading = null;
        for (int i = 0; i < Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(argument, $"{argument}[{i}] is null.");
            bool alone = t.dim() == _shapes[i].Length && t.shape.SequenceEqual(_shapes[i]);
            bool batched = t.dim() == _shapes[i].Length + 1 && t.shape.Skip(1).SequenceEqual(_shapes[i]);
            if (!alone && !batched)
                throw new ArgumentException(
                    $"{argument}[{i}] must have shape [{Join(_shapes[i])}] or [n, {Join(_shapes[i])}] (input {i}'s shape per example); got [{Join(t.shape)}].", argument);
            rows[i] = alone ? t.unsqueeze(0) : t;
            if (leading is { } l && l != rows[i].shape[0])
                throw new ArgumentException($"{argument} must have the same number of rows in every input; {argument}[{i}] has {rows[i].shape[0]}, {argument}[0] has {l}.", argument);
            leading = rows[i].shape[0];
        }
        var dtype = rows[0].dtype;
        for (int i = 1; i < Count; i++)
        {
            if (rows[i].dtype != dtype)
                throw new ArgumentException($"{argument} must share one dtype; {argument}[{i}] is {rows[i].dtype}, {argument}[0] is {dtype}.", argument);
            if (rows[i].device_type != rows[0].device_type || rows[i].device_index != rows[0].device_index)
                throw new ArgumentException($"{argument} must be on one device; {argument}[{i}] is on {rows[i].device}, {argument}[0] on {rows[0].device}.", argument);
        }
        return torch.cat(rows.Select(r => r.reshape(r.shape[0], -1)).ToArray(), 1);
    }

    /// <summary>Packed rows [n, E] -> one tensor per input [n, ...sᵢ] (views of the rows).</summary>
    public Tensor[] Unpack(Tensor packed)
    {
        if (packed.dim() != 2 || packed.shape[1] != Elements)
            throw new ArgumentException($"packed rows must have shape [n, {Elements}]; got [{Join(packed.shape)}].", nameof(packed));
        long n = packed.shape[0];
        return Enumerable.Range(0, Count)
            .Select(i => packed.narrow(1, _offsets[i], _sizes[i]).reshape(new[] { n }.Concat(_shapes[i]).ToArray()))
            .ToArray();
    }

    static string Join(IEnumerable<long> xs) => string.Join(", ", xs);
}

/// <summary>
/// The result of a call with several input tensors: the attribution of each input in its own shape
/// (<see cref="Maps"/>; for a layer method, one map: the layer's units), and the call's result on the packed row (<see cref="Packed"/>: metadata,
/// convergence delta per example, pass counts).
/// </summary>
public sealed record MultiInputAttribution(Attribution Packed, IReadOnlyList<Tensor> Maps) : IDisposable
{
    public Tensor? ConvergenceDelta => Packed.ConvergenceDelta;

    public void Dispose()
    {
        foreach (var m in Maps) m.Dispose();
        Packed.Dispose();
    }
}
