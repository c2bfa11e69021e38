using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>One mini-batch. The tensors are the caller's: dispose the batch (or let a dispose scope do it).</summary>
public sealed record Batch(Tensor Inputs, Tensor Labels) : IDisposable
{
    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Examples and labels as two tensors, with the operations the experiments need: deterministic
/// shuffling, disjoint k-way splits (seed 000's split factors), subsets and batching. Every
/// random choice takes an explicit seed, so nothing depends on the global random state.
/// </summary>
public sealed class TensorDataset : IDisposable
{
    /// <summary>float32 [N, C, H, W] images in [0, 1], or [N, D] features.</summary>
    public Tensor Inputs { get; }
    /// <summary>int64 [N] class labels.</summary>
    public Tensor Labels { get; }
    public string Name { get; }
    public long Count => Labels.shape[0];
    /// <summary>Number of classes: the value given at construction, else max label + 1.</summary>
    public int Classes { get; }

    /// <summary>Takes ownership of both tensors.</summary>
    public TensorDataset(Tensor inputs, Tensor labels, string name, int? classes = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.dtype != ScalarType.Int64 || labels.dim() != 1)
            throw new ArgumentException($"labels must be an int64 vector [N]; got {labels.dtype} of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (!inputs.is_floating_point())
            throw new ArgumentException($"inputs must be floating point; got {inputs.dtype}.", nameof(inputs));
        if (inputs.dim() < 1 || inputs.shape[0] != labels.shape[0])
            throw new ArgumentException($"inputs must have {labels.shape[0]} examples (the labels' count) in dimension 0; got shape [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        Inputs = inputs;
        Labels = labels;
        Name = name;
        if (classes is { } c)
        {
            if (c < 1) throw new ArgumentOutOfRangeException(nameof(classes), c, "classes must be >= 1.");
            Classes = c;
        }
        else Classes = labels.shape[0] == 0 ? 0 : (int)labels.max().item<long>() + 1;
    }

    /// <summary>A seeded permutation of 0..n-1 on <paramref name="device"/> (independent of the global random state).</summary>
    public static Tensor Permutation(long n, long seed, Device? device = null)
    {
        using var generator = new torch.Generator((ulong)seed);
        var perm = torch.randperm(n, generator: generator, device: torch.CPU);
        if (device is null || device.type == DeviceType.CPU) return perm;
        using (perm) return perm.to(device);
    }

    public TensorDataset Subset(long[] indices, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using var idx = torch.tensor(indices, device: Inputs.device);
        return Subset(idx, name ?? $"{Name}[{indices.Length}]");
    }

    TensorDataset Subset(Tensor indices, string name)
    {
        if (indices.numel() > 0)
        {
            long min = indices.min().item<long>(), max = indices.max().item<long>();
            if (min < 0 || max >= Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"indices must lie in [0, {Count - 1}]; got values in [{min}, {max}].");
        }
        return new TensorDataset(Inputs.index_select(0, indices), Labels.index_select(0, indices), name, Classes);
    }

    /// <summary>The first <paramref name="n"/> examples (all when n &gt;= Count).</summary>
    public TensorDataset Take(long n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be >= 0.");
        long m = Math.Min(n, Count);
        return new TensorDataset(Inputs.narrow(0, 0, m).clone(), Labels.narrow(0, 0, m).clone(), m == Count ? Name : $"{Name}[:{m}]", Classes);
    }

    public TensorDataset Shuffled(int seed)
    {
        using var perm = Permutation(Count, seed, Inputs.device);
        return Subset(perm, $"{Name}/shuffled{seed}");
    }

    /// <summary>
    /// k disjoint parts of equal size (Count / k, the remainder dropped) of a seeded permutation.
    /// Seed 000 trains one network per part and compares their interpretations.
    /// </summary>
    public IReadOnlyList<TensorDataset> SplitDisjoint(int k, int seed)
    {
        if (k < 1 || k > Count) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {Count}] (the dataset's size).");
        using var perm = Permutation(Count, seed, Inputs.device);
        long size = Count / k;
        var parts = new List<TensorDataset>(k);
        for (int i = 0; i < k; i++)
        {
            using var idx = perm.narrow(0, i * size, size);
            parts.Add(Subset(idx, $"{Name}/split{i + 1}of{k}-seed{seed}"));
        }
        return parts;
    }

    /// <summary>
    /// Mini-batches in a deterministic order: the identity when <paramref name="shuffle"/> is false,
    /// else the permutation seeded by <paramref name="seed"/>. The last batch may be smaller.
    /// </summary>
    public IEnumerable<Batch> Batches(int batchSize, bool shuffle, int seed, Device? device = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        return Iterate(batchSize, shuffle, seed, device);
    }

    IEnumerable<Batch> Iterate(int batchSize, bool shuffle, int seed, Device? device)
    {
        Tensor? order = shuffle ? Permutation(Count, seed, Inputs.device) : null;
        try
        {
            for (long start = 0; start < Count; start += batchSize)
            {
                long n = Math.Min(batchSize, Count - start);
                Tensor x, y;
                if (order is null)
                {
                    x = Inputs.narrow(0, start, n);
                    y = Labels.narrow(0, start, n);
                }
                else
                {
                    using var idx = order.narrow(0, start, n);
                    x = Inputs.index_select(0, idx);
                    y = Labels.index_select(0, idx);
                }
                if (device is not null && device.type != Inputs.device.type)
                {
                    var (xd, yd) = (x.to(device), y.to(device));
                    x.Dispose(); y.Dispose();
                    (x, y) = (xd, yd);
                }
                yield return new Batch(x, y);
            }
        }
        finally { order?.Dispose(); }
    }

    public TensorDataset To(Device device) => new(Inputs.to(device), Labels.to(device), Name, Classes);

    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
    }
}

/// <summary>A dataset's training and test parts.</summary>
public sealed record DatasetSplit(TensorDataset Train, TensorDataset Test) : IDisposable
{
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}
