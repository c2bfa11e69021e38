using TorchSharp;
using Workbench.Concepts;
using Workbench.Data.Synthetic;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Concepts;

public class ConditionalVaeTests
{
    public ConditionalVaeTests() => TorchRuntime.EnsureLoaded();

    /// <summary>The fraction of a decoded image's red + green mass that is green: 1 for a green bar, 0 for a red one.</summary>
    static Tensor GreenShare(Tensor x)
    {
        var g = x.select(1, 1).sum(new long[] { 1, 2 });
        var r = x.select(1, 0).sum(new long[] { 1, 2 });
        return g / (g + r + 1e-6);
    }

    [Fact]
    public void Cvae_loss_falls_and_its_decoder_follows_the_condition()
    {
        using var bars = Bars.Generate(800, 0.5, 0.5, seed: 4);
        using var c = bars.Conditions();
        var options = new CvaeOptions { Epochs = 15, Hidden = 128, Seed = 1 };
        var (vae, history) = ConditionalVae.Fit(bars.Data.Inputs, c, options);
        using (vae)
        {
            Assert.Equal(15, history.Loss.Length);
            Assert.True(history.Loss[^1] < 0.8 * history.Loss[0], $"loss {string.Join(", ", history.Loss)}");
            Assert.True(history.Reconstruction[^1] < history.Reconstruction[0]);

            // Dec-CaCE of "how green is the image" between do(green) and do(red): the decoder must switch the colour.
            using var green = bars.Conditions(green: true);
            using var red = bars.Conditions(green: false);
            var dec = VaeCausalConceptEffect.Decoder(GreenShare, vae, green, red, seed: 2);
            Assert.True(dec.Effect > 0.5 && dec.MeanDoA > 0.5 && dec.MeanDoB < 0.5, $"loss {string.Join(", ", history.Loss.Select(v => v.ToString("F0")))}; Dec-CaCE of the green share {dec.Effect} ({dec.MeanDoA} vs {dec.MeanDoB})");
            var encDec = VaeCausalConceptEffect.EncoderDecoder(GreenShare, vae, bars.Data.Inputs, c, green, red);
            Assert.True(encDec.Effect > 0.5, $"EncDec-CaCE of the green share {encDec.Effect}");
            // A function blind to the colour (the total mass of the image) moves little.
            var blind = VaeCausalConceptEffect.Decoder(x => x.sum(new long[] { 1, 2, 3 }) / 100, vae, green, red, seed: 2);
            Assert.True(Math.Abs(blind.Effect) < Math.Abs(dec.Effect) / 4, $"colour-blind effect {blind.Effect}");

            // Same seed, same model.
            var (again, h2) = ConditionalVae.Fit(bars.Data.Inputs, c, options);
            using (again) Assert.Equal(history.Loss, h2.Loss);
        }
    }

    [Fact]
    public void Cvae_cache_reloads_the_trained_model_and_retrains_a_corrupt_entry()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wb-cvae-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var bars = Bars.Generate(100, 0.5, 0.5, seed: 6);
            using var c = bars.Conditions();
            var options = new CvaeOptions { Epochs = 2, Hidden = 16, Seed = 3 };
            var (first, h1) = ConditionalVaeCache.FitOrLoad(bars.Data.Inputs, c, options, new ModelCache(dir));
            var (second, h2) = ConditionalVaeCache.FitOrLoad(bars.Data.Inputs, c, options, new ModelCache(dir));
            using var z = torch.randn(5, options.LatentSize);
            using var c5 = c.narrow(0, 0, 5);
            using (first) using (second)
            using (var a = first.Decode(z, c5)) using (var b = second.Decode(z, c5))
            {
                Assert.Equal(h1.Loss, h2.Loss);
                Assert.True(a.equal(b).all().item<bool>());
            }
            var weights = Directory.GetFiles(dir, "cvae-*.bin").Single();
            File.WriteAllBytes(weights, new byte[] { 1, 2, 3 });
            var (third, h3) = ConditionalVaeCache.FitOrLoad(bars.Data.Inputs, c, options, new ModelCache(dir));
            using (third) Assert.Equal(h1.Loss, h3.Loss); // retrained with the same seed
            var (other, _) = ConditionalVaeCache.FitOrLoad(bars.Data.Inputs, c, options with { Seed = 4 }, new ModelCache(dir));
            other.Dispose();
            Assert.Equal(2, Directory.GetFiles(dir, "cvae-*.bin").Length);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void Cvae_rejects_pixels_outside_the_unit_interval_and_mismatched_conditions()
    {
        using var images = torch.rand(6, 1, 4, 4);
        using var c = torch.zeros(6, 2);
        using var bright = images * 2;
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => ConditionalVae.Fit(bright, c)).ParamName);
        using var shortC = torch.zeros(5, 2);
        Assert.Equal("conditions", Assert.Throws<ArgumentException>(() => ConditionalVae.Fit(images, shortC)).ParamName);
        using var vae = new ConditionalVae(new long[] { 1, 4, 4 }, 2, new CvaeOptions { Hidden = 8 });
        using var wide = torch.zeros(6, 3);
        Assert.Equal("conditions", Assert.Throws<ArgumentException>(() => vae.Encode(images, wide)).ParamName);
        using var other = torch.rand(6, 1, 5, 5);
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => vae.Encode(other, c)).ParamName);
        using var c3 = torch.zeros(3, 2);
        Assert.Equal("conditionsB", Assert.Throws<ArgumentException>(() => VaeCausalConceptEffect.Decoder(x => x.mean(new long[] { 1, 2, 3 }), vae, c, c3, 0)).ParamName);
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => new CvaeOptions { Epochs = 0 }.Validate()).ParamName);
    }
}
