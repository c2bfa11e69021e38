namespace Workbench.Attribution;

/// <summary>
/// Memory control shared by every method. Methods that expand the batch (integration steps, noise
/// samples, baselines, perturbations) evaluate it in chunks of at most <see cref="RowsPerPass"/>
/// rows, so memory stays bounded whatever the step count; the result does not depend on the chunking.
/// </summary>
public sealed record AttributionSettings
{
    public static readonly AttributionSettings Default = new();

    /// <summary>Memory one pass may use (default 1 GiB).</summary>
    public long MemoryBudgetBytes { get; init; } = 1L << 30;

    /// <summary>Bytes of activations and gradients per input element, a conservative estimate for the
    /// small networks here (float32 inputs, activations a few dozen times the input size).</summary>
    public double BytesPerInputElement { get; init; } = 256;

    /// <summary>A hard cap on rows per pass (overrides the budget when smaller); null = budget only.</summary>
    public int? MaxRowsPerPass { get; init; }

    /// <summary>Rows (expanded examples) per forward/backward pass for examples of <paramref name="elementsPerExample"/> elements.</summary>
    public long RowsPerPass(long elementsPerExample)
    {
        if (MemoryBudgetBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MemoryBudgetBytes), MemoryBudgetBytes, "MemoryBudgetBytes must be > 0.");
        long byBudget = Math.Max(1, (long)(MemoryBudgetBytes / (Math.Max(1, elementsPerExample) * BytesPerInputElement)));
        return MaxRowsPerPass is { } cap ? Math.Max(1, Math.Min(cap, byBudget)) : byBudget;
    }
}
