using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>Feature masks: which input elements move together in perturbation methods.</summary>
public static class FeatureMasks
{
    /// <summary>Square patches of <paramref name="patch"/> pixels over all channels of [C, H, W] images -> int64 [1, H, W] ids.</summary>
    public static Tensor Grid(long height, long width, int patch)
    {
        if (patch < 1) throw new ArgumentOutOfRangeException(nameof(patch), patch, "patch must be >= 1.");
        long cols = (width + patch - 1) / patch;
        var ids = new long[height * width];
        for (long i = 0; i < height; i++)
            for (long j = 0; j < width; j++)
                ids[i * width + j] = i / patch * cols + j / patch;
        return torch.tensor(ids, new long[] { 1, height, width });
    }

    /// <summary>Every element its own feature, for examples of <paramref name="exampleShape"/>.</summary>
    public static Tensor Elementwise(long[] exampleShape) =>
        torch.arange(exampleShape.Aggregate(1L, (a, b) => a * b), dtype: ScalarType.Int64).reshape(exampleShape);
}

/// <summary>
/// The base of perturbation methods (Captum's PerturbationAttribution): they only evaluate the model,
/// on perturbed copies of the inputs, in chunks that fit the memory budget.
/// </summary>
public abstract class PerturbationAttribution(AttributionModel model, AttributionSettings? settings) : AttributionMethod(model, settings)
{
    protected override bool UsesBaselines => true;

    /// <summary>
    /// Target scores of P perturbations of every example -> [P, B]. <paramref name="build"/> returns
    /// rows [start, start + n) of the perturbed batch (row r = perturbation r / B of example r mod B).
    /// </summary>
    protected Tensor PerturbedScores(AttributionContext c, long perturbations, Func<long, long, Tensor> build)
    {
        long rows = perturbations * c.BatchSize;
        var scores = torch.empty(rows, c.Inputs.dtype, c.Inputs.device);
        ForEachChunk(rows, (start, n) =>
        {
            using var noGrad = torch.no_grad();
            scores.narrow(0, start, n).copy_(TargetScores(build(start, n), c.Target, start));
        });
        return scores.reshape(perturbations, c.BatchSize);
    }

    /// <summary>Example index and perturbation index of rows [start, start + n).</summary>
    protected static (Tensor Example, Tensor Perturbation) RowIndices(AttributionContext c, long start, long n)
    {
        var rows = torch.arange(start, start + n, dtype: ScalarType.Int64, device: c.Inputs.device);
        return (rows % c.BatchSize, torch.div(rows, c.BatchSize, RoundingMode.floor).to_type(ScalarType.Int64));
    }

    /// <summary>The feature mask as int64 of the example's shape (broadcast from e.g. [1, H, W]); validates it.</summary>
    protected static (Tensor Mask, long Features) ResolveMask(AttributionContext c, Tensor? mask)
    {
        var m = mask is null ? FeatureMasks.Elementwise(c.ExampleShape) : mask.to_type(ScalarType.Int64);
        if (m.dim() == c.Inputs.dim()) m = m[0];
        try { m = m.expand(c.ExampleShape).contiguous().to(c.Inputs.device); }
        catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException)
        {
            throw new ArgumentException($"featureMask of shape [{string.Join(", ", mask!.shape)}] does not broadcast to the example shape [{string.Join(", ", c.ExampleShape)}].", "featureMask", e);
        }
        long min = m.min().item<long>(), features = m.max().item<long>() + 1;
        if (min < 0) throw new ArgumentException($"featureMask ids must be >= 0; got {min}.", "featureMask");
        return (m, features);
    }

    /// <summary>Inputs where <paramref name="keep"/> [n, M] is 1 for a feature, the baseline where it is 0 -> rows [n, ...].</summary>
    protected static Tensor Compose(Tensor inputs, Tensor baselines, Tensor keep, Tensor mask)
    {
        var perElement = keep.index_select(1, mask.flatten()).reshape(inputs.shape).to_type(inputs.dtype);
        return inputs * perElement + baselines * (1 - perElement);
    }
}
