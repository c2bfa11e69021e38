using TorchSharp;
using Workbench.Models;
using Workbench.Representations;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Representations;

public class LayerFeaturesTests
{
    static nn.Module<Tensor, Tensor> TinyCnn()
    {
        TorchRuntime.Seed(3);
        return new ModelSpec("cnn", Width: 2).Build();
    }

    [Fact]
    public void Collect_is_the_same_whatever_the_batch_size_and_matches_the_layer_output()
    {
        using var model = TinyCnn();
        using var x = torch.rand(10, 1, 28, 28);
        using var whole = LayerFeatures.Collect(model, "act2", x, batchSize: 10);
        using var batched = LayerFeatures.Collect(model, "act2", x, batchSize: 3);
        Assert.Equal(new long[] { 10, 4, 14, 14 }, whole.shape);
        Assert.True(whole.allclose(batched, 1e-5, 1e-6));
        using var flat = LayerFeatures.Collect(model, "act2", x, batchSize: 4, flatten: true);
        Assert.Equal(new long[] { 10, 4 * 14 * 14 }, flat.shape);
        // The stem by hand: conv1 → relu → pool → conv2 → relu.
        var named = model.named_modules().ToDictionary(m => m.name, m => m.module);
        using var byHand = ((nn.Module<Tensor, Tensor>)named["conv2"]).call(nn.functional.max_pool2d(((nn.Module<Tensor, Tensor>)named["conv1"]).call(x).relu(), 2)).relu();
        Assert.True(whole.allclose(byHand, 1e-5, 1e-6));
    }

    [Fact]
    public void Streaming_many_batches_does_not_grow_the_live_tensor_count()
    {
        using var model = TinyCnn();
        using var x = torch.rand(4, 1, 28, 28);
        using var features = new LayerFeatures(model, "pool1");
        long Count()
        {
            for (int i = 0; i < 5; i++)
            {
                using var scope = torch.NewDisposeScope();
                features.Of(x);
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        long first = Count();
        Assert.Equal(first, Count());
        Assert.Equal(first, Count());
    }

    [Fact]
    public void Unknown_layer_empty_inputs_and_a_result_over_the_memory_bound_are_errors_naming_the_argument()
    {
        using var model = TinyCnn();
        using var x = torch.rand(8, 1, 28, 28);
        var unknown = Assert.Throws<ArgumentException>(() => new LayerFeatures(model, "conv9"));
        Assert.Equal("layer", unknown.ParamName);
        Assert.Contains("act2", unknown.Message);
        using var empty = torch.zeros(0, 1, 28, 28);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => LayerFeatures.Collect(model, "act2", empty)).ParamName);
        var bound = Assert.Throws<ArgumentOutOfRangeException>(() => LayerFeatures.Collect(model, "act2", x, maxBytes: 1000));
        Assert.Equal("maxBytes", bound.ParamName);
        Assert.Contains("LayerFeatures.Of", bound.Message);
    }
}
