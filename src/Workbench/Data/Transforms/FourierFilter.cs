using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Data.Transforms;

/// <summary>
/// Low- and high-frequency components of images by radius in the centred 2-D Fourier spectrum
/// (Wang et al., 2020, "High-frequency component helps explain the generalization of CNNs"; seed 003):
/// LFC keeps frequencies within distance r of the centre, HFC the rest, so LFC + HFC = the image.
/// </summary>
public static class FourierFilter
{
    /// <summary>1 where the centred frequency (u, v) has √(u² + v²) ≤ r, else 0; [H, W].</summary>
    public static Tensor LowPassMask(int height, int width, double radius)
    {
        if (!(radius >= 0)) throw new ArgumentOutOfRangeException(nameof(radius), radius, "radius must be >= 0.");
        var mask = new float[height * width];
        double ch = height / 2, cw = width / 2; // fftshift puts frequency 0 at index floor(n/2)
        for (int i = 0; i < height; i++)
            for (int j = 0; j < width; j++)
                mask[i * width + j] = Math.Sqrt((i - ch) * (i - ch) + (j - cw) * (j - cw)) <= radius ? 1f : 0f;
        return torch.tensor(mask, new long[] { height, width });
    }

    public static Tensor LowPass(Tensor images, double radius) => Filter(images, radius, low: true);

    public static Tensor HighPass(Tensor images, double radius) => Filter(images, radius, low: false);

    static Tensor Filter(Tensor images, double radius, bool low)
    {
        if (images.dim() < 2) throw new ArgumentException($"images must have at least 2 dimensions [.., H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        using var scope = torch.NewDisposeScope();
        var mask = LowPassMask((int)images.shape[^2], (int)images.shape[^1], radius).to(images.device);
        if (!low) mask = 1 - mask;
        var spectrum = torch.fft.fftshift(torch.fft.fft2(images), new long[] { -2, -1 });
        var filtered = torch.fft.ifft2(torch.fft.ifftshift(spectrum * mask, new long[] { -2, -1 }));
        return filtered.real.to_type(images.dtype).MoveToOuterDisposeScope();
    }
}
