using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>Baselines for path and SHAP methods: the reference input x' an attribution is relative to.</summary>
public static class Baselines
{
    public static Tensor Zero(Tensor inputs) => torch.zeros_like(inputs);

    public static Tensor Constant(Tensor inputs, double value) => torch.full_like(inputs, value);

    /// <summary>The input blurred by a Gaussian of <paramref name="sigma"/> pixels (Fong &amp; Vedaldi, 2017): removes detail, keeps colour.</summary>
    public static Tensor Blurred(Tensor inputs, double sigma)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be > 0.");
        if (inputs.dim() != 4) throw new ArgumentException($"inputs must be images [batch, channels, height, width]; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        using var scope = torch.NewDisposeScope();
        int radius = (int)Math.Ceiling(3 * sigma);
        var kernel1d = torch.tensor(Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray(), inputs.dtype, inputs.device);
        kernel1d = kernel1d / kernel1d.sum();
        long channels = inputs.shape[1];
        var kernel = torch.outer(kernel1d, kernel1d).expand(channels, 1, -1, -1).contiguous();
        var padded = nn.functional.pad(inputs, new long[] { radius, radius, radius, radius }, PaddingModes.Replicate);
        return nn.functional.conv2d(padded, kernel, groups: channels).MoveToOuterDisposeScope();
    }

    /// <summary>Uniform noise in [low, high) of the inputs' shape, seeded.</summary>
    public static Tensor UniformNoise(Tensor inputs, int seed, double low = 0, double high = 1)
    {
        using var g = new torch.Generator((ulong)seed);
        using var u = torch.rand(inputs.shape, inputs.dtype, generator: g);
        return (u * (high - low) + low).to(inputs.device);
    }
}
