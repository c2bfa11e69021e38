using TorchSharp;
using Workbench.Frequency;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Frequency;

public class HighFrequencyTests
{
    public HighFrequencyTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void At_the_largest_radius_the_lfc_is_the_rescaled_image_and_the_hfc_is_empty()
    {
        TorchRuntime.Seed(1);
        using var images = torch.rand(3, 1, 28, 28);
        double max = FrequencySplit.MaxRadius(28, 28);
        Assert.Equal(Math.Sqrt(2 * 14 * 14), max, 12);
        using var low = FrequencySplit.LowFrequency(images, max);
        using var peak = images.flatten(1).max(1).values.reshape(3, 1, 1, 1);
        Assert.True((low - images / peak).abs().max().item<float>() < 1e-5);
        using var high = FrequencySplit.HighFrequency(images, max);
        Assert.True(high.abs().max().item<float>() < 1e-5);
        // A constant image is all frequency 0: its LFC at any radius is the constant, rescaled to 1.
        using var constant = torch.full(1, 1, 28, 28, 0.3f);
        using var lowConstant = FrequencySplit.LowFrequency(constant, 1);
        Assert.True((lowConstant - 1).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void A_radius_outside_the_frequency_range_is_an_error()
    {
        using var images = torch.rand(2, 1, 28, 28);
        foreach (var r in new[] { 0.0, -1, 20, double.NaN })
            Assert.Equal("radius", Assert.Throws<ArgumentOutOfRangeException>(() => FrequencySplit.HighFrequency(images, r)).ParamName);
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => FrequencySplit.LowFrequency(torch.rand(28, 28), 4)).ParamName);
    }

    [Fact]
    public void Smoothing_convolves_each_kernel_with_the_mask()
    {
        using var ones = torch.ones(2, 3, 3, 3);
        using var smoothed = KernelSmoothing.Smooth(ones, 0.25);
        // Zero padding: a corner has 3 neighbours inside the kernel, an edge 5, the centre 8.
        Assert.Equal(1 + 3 * 0.25, smoothed[1, 2, 0, 0].item<float>(), 5);
        Assert.Equal(1 + 5 * 0.25, smoothed[1, 2, 0, 1].item<float>(), 5);
        Assert.Equal(1 + 8 * 0.25, smoothed[1, 2, 1, 1].item<float>(), 5);
        using var same = KernelSmoothing.Smooth(ones, 0);
        Assert.True(same.equal(ones).all().item<bool>());
        Assert.Equal("p", Assert.Throws<ArgumentOutOfRangeException>(() => KernelSmoothing.Smooth(ones, -0.1)).ParamName);
        Assert.Equal("kernels", Assert.Throws<ArgumentException>(() => KernelSmoothing.Smooth(torch.ones(2, 3, 5, 5), 0.1)).ParamName);
    }

    [Fact]
    public void Smoothing_a_model_changes_only_its_first_convolution_and_is_undone()
    {
        TorchRuntime.Seed(2);
        using var model = new ModelSpec("cnn").Build();
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        using (KernelSmoothing.Apply(model, 0.5))
        {
            var during = model.parameters().ToList();
            Assert.False(during[0].equal(before[0]).all().item<bool>());
            for (int i = 1; i < before.Count; i++) Assert.True(during[i].equal(before[i]).all().item<bool>());
        }
        var after = model.parameters().ToList();
        for (int i = 0; i < before.Count; i++) Assert.True(after[i].equal(before[i]).all().item<bool>());
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => KernelSmoothing.Apply(nn.Linear(2, 2), 0.1)).ParamName);
    }
}
