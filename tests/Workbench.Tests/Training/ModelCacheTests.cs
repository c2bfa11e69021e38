using TorchSharp;
using Workbench.Models;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

public class ModelCacheTests
{
    static readonly ModelSpec Spec = new("mlp", Classes: 2);
    static readonly TrainOptions Options = new() { Epochs = 1, BatchSize = 32 };

    static float[] Outputs(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using var noGrad = torch.no_grad();
        using var y = model.call(x);
        return y.data<float>().ToArray();
    }

    [Fact]
    public void Second_request_is_served_from_cache_with_identical_outputs()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(128, seed: 11);
        using var test = TrainingFixtures.HalfBrightness(64, seed: 12);
        var cache = new ModelCache(dir);
        var first = cache.GetOrTrain(Spec, train, test, Options);
        var second = cache.GetOrTrain(Spec, train, test, Options);
        using (first.Model) using (second.Model)
        {
            Assert.False(first.FromCache);
            Assert.True(second.FromCache);
            Assert.Equal(first.Key, second.Key);
            Assert.Equal(first.Result.TestAccuracy, second.Result.TestAccuracy);
            Assert.Equal(Outputs(first.Model, test.Inputs), Outputs(second.Model, test.Inputs));
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Key_changes_with_seed_data_spec_and_initialization()
    {
        using var a = TrainingFixtures.HalfBrightness(64, seed: 13);
        using var b = TrainingFixtures.HalfBrightness(64, seed: 14);
        var k = ModelCache.KeyFor(Spec, a, Options);
        Assert.Equal(k, ModelCache.KeyFor(Spec, a, Options));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec, a, Options with { Seed = 1 }));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec, b, Options));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec with { Activation = ActivationKind.Softplus }, a, Options));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec, a, Options, initializationKey: "pretrained:abc"));
    }

    [Fact]
    public void Corrupt_entry_is_detected_and_retrained()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(128, seed: 15);
        var cache = new ModelCache(dir);
        var first = cache.GetOrTrain(Spec, train, null, Options);
        var reference = Outputs(first.Model, train.Inputs);
        first.Model.Dispose();

        // Flip a byte in the middle of the weights file.
        var bytes = File.ReadAllBytes(first.WeightsPath);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(first.WeightsPath, bytes);

        var again = cache.GetOrTrain(Spec, train, null, Options);
        using (again.Model)
        {
            Assert.False(again.FromCache);
            Assert.Equal(reference, Outputs(again.Model, train.Inputs)); // retrained deterministically
        }
        Directory.Delete(dir, true);
    }
}
