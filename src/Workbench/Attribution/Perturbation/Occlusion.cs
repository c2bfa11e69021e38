using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Occlusion (Zeiler &amp; Fergus, 2014; Captum's Occlusion): slide a window over the example,
/// replace it by the baseline, and give each element the mean drop of the target score over the
/// windows covering it. Any rank: a window shape and a stride per axis of the example (e.g.
/// [1, 5, 3] over [C, H, W]: one channel at a time, non-square), or the square form — a
/// <c>window</c>×<c>window</c> patch over the last two axes spanning every leading axis (all channels).
/// <para>
/// Border, as Captum: along an axis of size n the window starts at 0, s, 2s, … for
/// ⌈(n − w) / s⌉ + 1 positions, and a window that would run past the edge is cut off there (not
/// shifted back inside). The stride may not exceed the window on an axis the window does not span
/// (elements would be skipped), as Captum asserts.
/// </para>
/// </summary>
public sealed class Occlusion : PerturbationAttribution
{
    /// <summary>A square window over the last two axes, spanning every leading axis (all channels of [C, H, W]).</summary>
    public Occlusion(AttributionModel model, int window = 4, int stride = 2, AttributionSettings? settings = null) : base(model, settings)
    {
        Window = window >= 1 ? window : throw new ArgumentOutOfRangeException(nameof(window), window, "window must be >= 1.");
        Stride = stride >= 1 ? stride : throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be >= 1.");
    }

    /// <summary>A window shape and strides per axis of the example (strides: one per axis, or one for all).</summary>
    public Occlusion(AttributionModel model, long[] window, long[] stride, AttributionSettings? settings = null) : base(model, settings)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(stride);
        if (window.Length == 0 || window.Any(w => w < 1)) throw new ArgumentOutOfRangeException(nameof(window), $"[{string.Join(", ", window)}]", "window must give a size >= 1 for every axis of the example.");
        if (stride.Length == 0 || stride.Any(s => s < 1)) throw new ArgumentOutOfRangeException(nameof(stride), $"[{string.Join(", ", stride)}]", "stride must be >= 1 (one per axis, or one for all).");
        if (stride.Length != 1 && stride.Length != window.Length)
            throw new ArgumentException($"stride must have one value per axis of the window ({window.Length}) or one for all; got {stride.Length}.", nameof(stride));
        WindowShape = window.ToArray();
        Strides = stride.Length == 1 ? Enumerable.Repeat(stride[0], window.Length).ToArray() : stride.ToArray();
    }

    /// <summary>The square form's window and stride (0 when per-axis shapes were given).</summary>
    public int Window { get; }
    public int Stride { get; }

    /// <summary>The per-axis window and strides (null in the square form).</summary>
    public long[]? WindowShape { get; }
    public long[]? Strides { get; }

    public override string Name => "Occlusion";
    public override IReadOnlyDictionary<string, object> Parameters => WindowShape is null
        ? new Dictionary<string, object> { ["window"] = Window, ["stride"] = Stride }
        : new Dictionary<string, object> { ["window"] = $"[{string.Join(", ", WindowShape)}]", ["stride"] = $"[{string.Join(", ", Strides!)}]" };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var shape = c.ExampleShape;
        var (window, stride) = Resolve(shape);
        // Window starts per axis: 0, s, 2s, ... (count = ⌈(n − w)/s⌉ + 1); windows are their product, last axis fastest.
        var counts = shape.Select((n, d) => (n - window[d] + stride[d] - 1) / stride[d] + 1).ToArray();
        long windows = counts.Aggregate(1L, (a, b) => a * b);
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, windows, (start, n) =>
        {
            var (example, perturbation) = RowIndices(c, start, n);
            var m = Masks(perturbation, shape, window, stride, counts, c.Inputs.dtype);
            return c.Inputs.index_select(0, example) * (1 - m) + baseline.index_select(0, example) * m;
        });
        var drop = c.Target.Score(c.OutputAtInputs).unsqueeze(0) - scores; // [P, B]
        // Σ_p drop[p, b] · mask_p, in chunks of windows (the masks of all windows at once can be large).
        var total = torch.zeros(c.BatchSize, c.ElementsPerExample, dtype: c.Inputs.dtype, device: c.Inputs.device);
        long per = Math.Max(1, RowsPerPass());
        for (long p = 0; p < windows; p += per)
        {
            using var scope = torch.NewDisposeScope();
            long k = Math.Min(per, windows - p);
            var index = torch.arange(p, p + k, dtype: ScalarType.Int64, device: c.Inputs.device);
            total.add_(drop.narrow(0, p, k).t().matmul(Masks(index, shape, window, stride, counts, c.Inputs.dtype).reshape(k, -1)));
        }
        // Windows covering each element: a product over axes of the windows covering its coordinate.
        Tensor? covering = null;
        for (int d = 0; d < shape.Length; d++)
        {
            var perCoordinate = new double[shape[d]];
            for (long k = 0; k < counts[d]; k++)
                for (long i = k * stride[d]; i < Math.Min(k * stride[d] + window[d], shape[d]); i++) perCoordinate[i]++;
            var axis = torch.tensor(perCoordinate, c.Inputs.dtype, c.Inputs.device).reshape(AxisShape(shape.Length, d, shape[d]));
            covering = covering is null ? axis : covering * axis;
        }
        var mean = total.reshape(c.Inputs.shape) / covering!.unsqueeze(0);
        return new(mean.contiguous());
    }

    (long[] Window, long[] Stride) Resolve(long[] shape)
    {
        long[] window, stride;
        if (WindowShape is null)
        {
            if (shape.Length < 2)
                throw new ArgumentException($"the square window covers the last two axes of the example; these examples have shape [{string.Join(", ", shape)}]. Give a window shape per axis.", "inputs");
            window = shape.Select((n, d) => d < shape.Length - 2 ? n : Window).ToArray();
            stride = shape.Select((n, d) => d < shape.Length - 2 ? 1L : Stride).ToArray();
        }
        else
        {
            if (WindowShape.Length != shape.Length)
                throw new ArgumentException($"window has {WindowShape.Length} axes; the examples have {shape.Length}: [{string.Join(", ", shape)}].", "window");
            (window, stride) = (WindowShape, Strides!);
        }
        for (int d = 0; d < shape.Length; d++)
        {
            if (window[d] > shape[d])
                throw new ArgumentOutOfRangeException("window", $"[{string.Join(", ", window)}]", $"the window must fit the example [{string.Join(", ", shape)}]: axis {d} has {shape[d]}, the window {window[d]}.");
            if (window[d] < shape[d] && stride[d] > window[d])
                throw new ArgumentOutOfRangeException("stride", $"[{string.Join(", ", stride)}]", $"on axis {d} the stride ({stride[d]}) exceeds the window ({window[d]}): elements between windows would never be occluded.");
        }
        return (window, stride);
    }

    /// <summary>The masks of windows <paramref name="index"/> [n] -> [n, ...example] (1 inside, cut at the border).</summary>
    static Tensor Masks(Tensor index, long[] shape, long[] window, long[] stride, long[] counts, ScalarType dtype)
    {
        Tensor? mask = null;
        long radix = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            var start = torch.floor_divide(index, radix) % counts[d] * stride[d]; // [n] (int64: torch.div would divide in float32)
            radix *= counts[d];
            var coordinate = torch.arange(shape[d], dtype: ScalarType.Int64, device: index.device).unsqueeze(0);
            var inside = coordinate.ge(start.unsqueeze(1)).logical_and(coordinate.lt((start + window[d]).unsqueeze(1)));
            inside = inside.reshape(new[] { index.shape[0] }.Concat(AxisShape(shape.Length, d, shape[d])).ToArray());
            mask = mask is null ? inside : mask.logical_and(inside);
        }
        return mask!.expand(new[] { index.shape[0] }.Concat(shape).ToArray()).to_type(dtype);
    }

    /// <summary>[1, .., size, .., 1]: axis <paramref name="axis"/> of <paramref name="rank"/> holds the size.</summary>
    static long[] AxisShape(int rank, int axis, long size) => Enumerable.Range(0, rank).Select(i => i == axis ? size : 1L).ToArray();
}
