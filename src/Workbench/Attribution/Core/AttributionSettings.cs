namespace Workbench.Attribution;

/// <summary>
/// Memory control shared by every method. Methods that expand the batch (integration steps, noise
/// samples, baselines, perturbations) evaluate it in chunks of at most <see cref="RowsPerPass"/>
/// rows, so memory stays bounded whatever the step count; the result does not depend on the chunking.
/// </summary>
public sealed record AttributionSettings
{
    public static readonly AttributionSettings Default = new();

    /// <summary>Memory one forward/backward pass may use (default 256 MiB: a batch of 64 MNIST images on the small CNN,
    /// about 1 MiB per row, fits one pass, and memory stays flat at any step count). At 64 MiB that batch went as 60 + 4
    /// rows, and the second pass's fixed cost made Saliency 1.25× the hand-written gradient instead of 1.04×
    /// (`workbench bench attribution`, 2 threads, 2026-12-02).</summary>
    public long MemoryBudgetBytes { get; init; } = 256L << 20;

    /// <summary>
    /// Activation memory per row relative to the tensors a forward pass produces, measured once per
    /// model and input shape by a probe (outputs kept for backward, their gradients, temporaries).
    /// Plain functions cannot be probed: for them a row is taken to cost <see cref="FunctionBytesPerInputElement"/> per input element.
    /// </summary>
    public double ActivationOverhead { get; init; } = 3.0;

    public double FunctionBytesPerInputElement { get; init; } = 256;

    /// <summary>A hard cap on rows per pass (overrides the budget when smaller); null = budget only.</summary>
    public int? MaxRowsPerPass { get; init; }

    /// <summary>Rows (expanded examples) per forward/backward pass when one row costs <paramref name="bytesPerRow"/>.</summary>
    public long RowsPerPass(double bytesPerRow)
    {
        if (MemoryBudgetBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MemoryBudgetBytes), MemoryBudgetBytes, "MemoryBudgetBytes must be > 0.");
        long byBudget = Math.Max(1, (long)(MemoryBudgetBytes / Math.Max(1, bytesPerRow)));
        return MaxRowsPerPass is { } cap ? Math.Max(1, Math.Min(cap, byBudget)) : byBudget;
    }
}
