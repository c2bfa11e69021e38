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
/// A feature mask bound to a batch: one partition shared by every example ([E] ids), or one per
/// example ([B, E] ids, Captum's batched feature_mask: each row its own partition). Ids are int64 in
/// [0, Features).
/// </summary>
public sealed class BoundFeatureMask
{
    internal BoundFeatureMask(Tensor ids, long features)
    {
        Ids = ids;
        Features = features;
    }

    /// <summary>Feature id per element: [E] when shared, [B, E] when per example.</summary>
    public Tensor Ids { get; }

    /// <summary>M: ids run over [0, M).</summary>
    public long Features { get; }

    public bool PerExample => Ids.dim() == 2;

    /// <summary>A per-feature value <paramref name="perFeature"/> [n, M] of rows belonging to <paramref name="example"/> [n], per element -> [n, E].</summary>
    public Tensor PerElement(Tensor perFeature, Tensor example) =>
        PerExample ? perFeature.gather(1, Ids.index_select(0, example)) : perFeature.index_select(1, Ids);

    /// <summary>Per-feature attributions [B, M] given to every element of their feature -> <paramref name="shape"/> [B, ...].</summary>
    public Tensor Spread(Tensor phi, long[] shape) => (PerExample ? phi.gather(1, Ids) : phi.index_select(1, Ids)).reshape(shape);

    /// <summary>The mask of examples <paramref name="examples"/> of the batch.</summary>
    internal BoundFeatureMask Subset(Tensor examples, long features) => new(PerExample ? Ids.index_select(0, examples) : Ids, features);
}

/// <summary>
/// The base of perturbation methods (Captum's PerturbationAttribution): they only evaluate the model,
/// on perturbed copies of the inputs, in chunks that fit the memory budget.
/// </summary>
public abstract class PerturbationAttribution(AttributionModel model, AttributionSettings? settings) : AttributionMethod(model, settings)
{
    protected override bool UsesBaselines => true;

    /// <summary>
    /// With several input tensors: one feature mask per input (each of that input's example shape, or
    /// broadcasting to it, or [B, ...] per example). An id names one feature in every input (Captum:
    /// the same id in two inputs is one feature, perturbed together). None: every element its own feature.
    /// </summary>
    public IReadOnlyList<Tensor>? FeatureMasks { get; init; }

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

    /// <summary>
    /// Validates the feature mask and binds it to the batch. Shapes: none (every element its own
    /// feature); the example's shape or one that broadcasts to it (e.g. [1, H, W] for [C, H, W]),
    /// optionally with a leading 1 — one partition for all; or [B, ...] — one partition per example.
    /// </summary>
    protected BoundFeatureMask ResolveMask(AttributionContext c, Tensor? mask)
    {
        if (c.Layout is { } layout)
        {
            if (mask is not null)
                throw new ArgumentException($"{Name} explains several input tensors: give one mask per input (FeatureMasks), not one featureMask of shape [{string.Join(", ", mask.shape)}].", "featureMask");
            mask = FeatureMasks is null ? null : PackMasks(c, layout, FeatureMasks);
        }
        else if (FeatureMasks is not null)
            throw new ArgumentException($"FeatureMasks (one per input) are for calls with several input tensors; this call has one. Use featureMask.", nameof(FeatureMasks));
        if (mask is not null && (mask.is_floating_point() || mask.is_complex() || mask.dtype == ScalarType.Bool))
            throw new ArgumentException($"featureMask must hold integer feature ids (int64 or int32); got {mask.dtype}.", "featureMask");
        var m = mask is null ? Workbench.Attribution.FeatureMasks.Elementwise(c.ExampleShape) : mask.to_type(ScalarType.Int64);
        bool perExample = false;
        if (m.dim() == c.Inputs.dim())
        {
            if (m.shape[0] == 1) m = m[0];
            else if (m.shape[0] == c.BatchSize) perExample = true;
            else
                throw new ArgumentException($"featureMask of shape [{string.Join(", ", m.shape)}] has {m.shape[0]} rows for {c.BatchSize} examples; expected 1 (one mask for all) or {c.BatchSize} (one per example).", "featureMask");
        }
        try { m = (perExample ? m.expand(c.Inputs.shape).reshape(c.BatchSize, -1) : m.expand(c.ExampleShape).flatten()).contiguous().to(c.Inputs.device); }
        catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException)
        {
            string expected = perExample ? $"[{string.Join(", ", c.Inputs.shape)}] (one mask per example)" : $"the example shape [{string.Join(", ", c.ExampleShape)}]";
            throw new ArgumentException($"featureMask of shape [{string.Join(", ", mask!.shape)}] does not broadcast to {expected}.", "featureMask", e);
        }
        long min = m.min().item<long>(), features = m.max().item<long>() + 1;
        if (min < 0) throw new ArgumentException($"featureMask ids must be >= 0; got {min}.", "featureMask");
        return new(m, features);
    }

    /// <summary>
    /// One mask per input -> one mask of the packed rows: [1, E] when every mask is shared, [B, E]
    /// when any is per example (the shared ones repeated). Ids are kept as given: the same id in two
    /// inputs is one feature.
    /// </summary>
    static Tensor PackMasks(AttributionContext c, InputLayout layout, IReadOnlyList<Tensor> masks)
    {
        if (masks.Count != layout.Count)
            throw new ArgumentException($"FeatureMasks must give one mask per input ({layout.Count}); got {masks.Count}.", nameof(FeatureMasks));
        var parts = new Tensor[layout.Count];
        bool perExample = false;
        for (int i = 0; i < layout.Count; i++)
        {
            var m = masks[i] ?? throw new ArgumentNullException(nameof(FeatureMasks), $"FeatureMasks[{i}] is null.");
            if (m.is_floating_point() || m.is_complex() || m.dtype == ScalarType.Bool)
                throw new ArgumentException($"FeatureMasks[{i}] must hold integer feature ids (int64 or int32); got {m.dtype}.", nameof(FeatureMasks));
            var shape = layout.Shape(i);
            bool rows = m.dim() == shape.Length + 1 && m.shape[0] == c.BatchSize && c.BatchSize > 1;
            var full = new[] { rows ? c.BatchSize : 1 }.Concat(shape).ToArray();
            try { parts[i] = (rows ? m : m.dim() == shape.Length + 1 && m.shape[0] == 1 ? m : m.unsqueeze(0)).to_type(ScalarType.Int64).expand(full).reshape(full[0], -1); }
            catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException)
            {
                throw new ArgumentException($"FeatureMasks[{i}] of shape [{string.Join(", ", m.shape)}] does not broadcast to input {i}'s example shape [{string.Join(", ", shape)}] (or [{c.BatchSize}, ...] per example).", nameof(FeatureMasks), e);
            }
            perExample |= rows;
        }
        if (perExample) parts = parts.Select(p => p.expand(c.BatchSize, -1)).ToArray();
        return torch.cat(parts, 1).to(c.Inputs.device);
    }

    /// <summary>
    /// Runs a mask method so that every example is explained over its own features: examples whose
    /// per-example masks have the same number of features M (max id + 1) are computed together, each
    /// group as a batch of its own. An example's map is then what it would be alone with its mask
    /// (Captum's per-example semantics; ids a row does not use are dummy features that change
    /// nothing). With one mask for all, this is one call of <paramref name="compute"/>.
    /// </summary>
    protected Tensor PerFeatureCount(AttributionContext c, Tensor? featureMask, Func<AttributionContext, BoundFeatureMask, Tensor> compute)
    {
        var mask = ResolveMask(c, featureMask);
        if (!mask.PerExample) return compute(c, mask);
        var counts = (mask.Ids.max(1).values + 1).cpu().data<long>().ToArray();
        var groups = counts.Select((m, e) => (m, e)).GroupBy(p => p.m).ToList();
        if (groups.Count == 1) return compute(c, new BoundFeatureMask(mask.Ids, groups[0].Key));
        var map = torch.zeros_like(c.Inputs);
        var baseline = BaselinePerExample(c);
        // No dispose scope per group: the model's output at the inputs, computed on first use by any
        // group, must outlive it. The groups are few and their intermediates are released with the call's scope.
        foreach (var group in groups)
        {
            var examples = group.Select(p => (long)p.e).ToArray();
            var index = torch.tensor(examples, device: c.Inputs.device);
            var inputs = c.Inputs.index_select(0, index);
            var sub = new AttributionContext(inputs, baseline.index_select(0, index), c.Target.Subset(examples),
                new Lazy<Tensor>(() => c.OutputAtInputs.index_select(0, index))) { Layout = c.Layout };
            map.index_copy_(0, index, compute(sub, mask.Subset(index, group.Key)));
        }
        return map;
    }

    /// <summary>Rows [n, ...]: the inputs where <paramref name="keep"/> [n, M] is 1 for a feature, the baseline where it is 0 (rows of examples <paramref name="example"/>).</summary>
    protected static Tensor Compose(Tensor inputs, Tensor baselines, Tensor keep, BoundFeatureMask mask, Tensor example)
    {
        var perElement = mask.PerElement(keep, example).reshape(inputs.shape).to_type(inputs.dtype);
        return inputs * perElement + baselines * (1 - perElement);
    }
}
