using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Frequency;

/// <summary>
/// The amplitude of integer frequencies k of a function sampled on N equally spaced points of [0, 1): 2|F_k|/N with F
/// the discrete Fourier transform, so A·sin(2πkz + φ) gives exactly A (Rahaman et al., 2019, "On the spectral bias of
/// neural networks": their heatmaps show 2|FFT_k|/A_k).
/// </summary>
public static class SpectralAmplitudes
{
    /// <param name="values">f on the grid z_n = n/N, a 1-D tensor [N] (or [N, 1]).</param>
    /// <param name="frequencies">Integer frequencies in [1, N/2).</param>
    public static double[] Of(Tensor values, IReadOnlyList<double> frequencies)
    {
        ArgumentNullException.ThrowIfNull(values);
        var v = OneDimensional(values, nameof(values));
        long n = v.shape[0];
        foreach (var k in frequencies)
            if (k != Math.Round(k) || k < 1 || k >= n / 2.0)
                throw new ArgumentOutOfRangeException(nameof(frequencies), k, $"every frequency must be an integer in [1, {n / 2.0}) for {n} samples; got {k}.");
        using var scope = torch.NewDisposeScope();
        var spectrum = torch.fft.rfft(v.to_type(ScalarType.Float64)).abs() * (2.0 / n);
        var all = spectrum.data<double>().ToArray();
        return frequencies.Select(k => all[(int)k]).ToArray();
    }

    /// <summary>A regression input or output that must be one value per point: [N] or [N, 1]; anything else is an error naming the argument.</summary>
    public static Tensor OneDimensional(Tensor t, string name)
    {
        if (t.dim() == 1 || (t.dim() == 2 && t.shape[1] == 1)) return t.reshape(-1);
        throw new ArgumentException($"{name} must be one-dimensional, [N] or [N, 1]; got [{string.Join(", ", t.shape)}].", name);
    }
}
