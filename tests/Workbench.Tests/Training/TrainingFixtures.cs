using TorchSharp;
using Workbench.Data;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>Small synthetic image datasets so trainer tests take seconds, not minutes.</summary>
static class TrainingFixtures
{
    /// <summary>[n,1,28,28] noise images; the label says which half of the image is brighter (learnable by any model).</summary>
    public static TensorDataset HalfBrightness(int n, int seed)
    {
        TorchRuntime.EnsureLoaded();
        var g = new torch.Generator((ulong)seed);
        var x = torch.rand(new long[] { n, 1, 28, 28 }, generator: g);
        var labels = torch.randint(0, 2, new long[] { n }, generator: g).to_type(ScalarType.Int64);
        // Brighten the left or right half by 0.3 according to the label.
        using var mask = torch.zeros(2, 1, 28, 28);
        mask[1, .., .., ..14] = torch.tensor(0.3f);
        mask[0, .., .., 14..] = torch.tensor(0.3f);
        var inputs = (x * 0.7 + mask.index_select(0, labels)).clamp(0, 1);
        x.Dispose();
        return new TensorDataset(inputs, labels, $"half-brightness-{n}-{seed}");
    }
}
