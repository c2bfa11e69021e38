using TorchSharp;
using Workbench.Data;
using Workbench.Data.Transforms;
using static TorchSharp.torch;

namespace Workbench.Frequency;

/// <summary>
/// The low- and high-frequency components of Wang et al. (2020), "High-frequency component helps explain the
/// generalization of CNNs", as the authors' code builds them (HaohanWang/HFC): the Fourier low-pass / high-pass of
/// radius r (<see cref="FourierFilter"/>, real part), then each filtered image divided by its own maximum.
/// </summary>
public static class FrequencySplit
{
    /// <summary>
    /// The largest useful radius of an H×W centred spectrum (frequency 0 at index ⌊n/2⌋): the distance to the farthest
    /// corner, √(⌊H/2⌋² + ⌊W/2⌋²). At this radius the LFC is the whole image and the HFC empty.
    /// </summary>
    public static double MaxRadius(long height, long width) => Math.Sqrt((double)(height / 2) * (height / 2) + (double)(width / 2) * (width / 2));

    public static Tensor LowFrequency(Tensor images, double radius) => Split(images, radius, low: true);

    public static Tensor HighFrequency(Tensor images, double radius) => Split(images, radius, low: false);

    /// <summary>A dataset of the LFC (or HFC) of every image, labels unchanged.</summary>
    public static TensorDataset Of(TensorDataset data, double radius, bool low) =>
        new(Split(data.Inputs, radius, low), data.Labels.clone(), $"{data.Name}-{(low ? "lfc" : "hfc")}{radius:R}", data.Classes);

    /// <summary>Throws unless <paramref name="radius"/> lies in (0, <see cref="MaxRadius"/>] of H×W images.</summary>
    internal static void CheckRadius(double radius, long height, long width)
    {
        double max = MaxRadius(height, width);
        if (!(radius > 0 && radius <= max))
            throw new ArgumentOutOfRangeException(nameof(radius), radius, $"radius must be in (0, {max:F2}] (the frequency range of {height}×{width} images); got {radius}.");
    }

    static Tensor Split(Tensor images, double radius, bool low)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() < 3)
            throw new ArgumentException($"images must be a batch [N, ..., H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        CheckRadius(radius, images.shape[^2], images.shape[^1]);
        using var scope = torch.NewDisposeScope();
        var filtered = low ? FourierFilter.LowPass(images, radius) : FourierFilter.HighPass(images, radius);
        // Authors: each filtered image rescaled by its own maximum (an image whose maximum is not positive is left as is).
        var peak = filtered.flatten(1).max(1).values.reshape(new[] { images.shape[0] }.Concat(Enumerable.Repeat(1L, (int)images.dim() - 1)).ToArray());
        var scaled = torch.where(peak > 1e-12, filtered / peak.clamp_min(1e-12), filtered);
        return scaled.MoveToOuterDisposeScope();
    }
}
