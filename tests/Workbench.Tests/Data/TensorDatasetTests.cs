using FsCheck;
using FsCheck.Fluent;
using TorchSharp;
using Workbench.Data;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

public class TensorDatasetTests
{
    static TensorDataset Numbered(int n)
    {
        TorchRuntime.EnsureLoaded();
        // Input i is the constant i, so indices can be read back from the inputs.
        return new TensorDataset(torch.arange(n, ScalarType.Float32).reshape(n, 1), torch.arange(n, ScalarType.Int64) % 3, $"numbered-{n}");
    }

    [FsCheck.Xunit.Property(MaxTest = 30)]
    public bool Splits_are_disjoint_equal_and_deterministic(PositiveInt size, PositiveInt parts, int seed)
    {
        int n = size.Get % 500 + 16, k = parts.Get % 16 + 1;
        using var data = Numbered(n);
        var split = data.SplitDisjoint(k, seed);
        var again = data.SplitDisjoint(k, seed);
        var ids = split.Select(s => s.Inputs.flatten().data<float>().ToArray()).ToList();
        bool ok = ids.All(p => p.Length == n / k)
            && ids.SelectMany(p => p).Distinct().Count() == k * (n / k)
            && split.Zip(again).All(p => p.First.Inputs.equal(p.Second.Inputs).all().item<bool>());
        foreach (var s in split.Concat(again)) s.Dispose();
        return ok;
    }

    [Fact]
    public void Different_seeds_give_different_splits()
    {
        using var data = Numbered(100);
        var a = data.SplitDisjoint(2, 1);
        var b = data.SplitDisjoint(2, 2);
        Assert.False(a[0].Inputs.equal(b[0].Inputs).all().item<bool>());
    }

    [Fact]
    public void Batches_cover_every_example_once_in_a_seeded_order()
    {
        using var data = Numbered(103);
        List<float> Order(bool shuffle, int seed) => data.Batches(10, shuffle, seed).SelectMany(b => { using (b) return b.Inputs.flatten().data<float>().ToArray(); }).ToList();
        var plain = Order(false, 0);
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (float)i), plain);
        var shuffled = Order(true, 5);
        Assert.Equal(103, shuffled.Distinct().Count());
        Assert.NotEqual(plain, shuffled);
        Assert.Equal(shuffled, Order(true, 5));
        Assert.NotEqual(shuffled, Order(true, 6));
        Assert.Equal(11, data.Batches(10, true, 0).Count());
    }

    [Fact]
    public void Subsets_take_and_labels_stay_aligned()
    {
        using var data = Numbered(30);
        using var sub = data.Subset(new long[] { 29, 3, 4 });
        Assert.Equal(new float[] { 29, 3, 4 }, sub.Inputs.flatten().data<float>().ToArray());
        Assert.Equal(new long[] { 29 % 3, 0, 1 }, sub.Labels.data<long>().ToArray());
        using var first = data.Take(5);
        Assert.Equal(5, first.Count);
        using var shuffled = data.Shuffled(1);
        Assert.True((shuffled.Inputs.flatten().to_type(ScalarType.Int64) % 3).equal(shuffled.Labels).all().item<bool>());
    }

    [Fact]
    public void Bad_arguments_name_themselves()
    {
        using var data = Numbered(10);
        Assert.Equal("indices", Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset(new long[] { 10 })).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => data.SplitDisjoint(0, 0)).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => data.Batches(0, false, 0)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => new TensorDataset(torch.zeros(3, 2), torch.zeros(3), "x")).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new TensorDataset(torch.zeros(4, 2), torch.zeros(3, ScalarType.Int64), "x"));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("[4, 2]", e.Message);
    }
}
