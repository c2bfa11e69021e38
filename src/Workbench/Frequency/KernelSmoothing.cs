using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Frequency;

/// <summary>
/// Kernel smoothing of Wang et al. (2020), Sec. 5, as the authors' code does it (HaohanWang/HFC): post hoc, no
/// retraining, every 3×3 kernel of the model's <b>first</b> convolution is convolved (zero padding, same size,
/// unnormalised) with M = [[p, p, p], [p, 1, p], [p, p, p]], which damps the kernel's high frequencies.
/// (The issue text describes an element-wise multiplication by M; the code convolves, and we follow the code.)
/// </summary>
public static class KernelSmoothing
{
    /// <summary>Smoothed copies of 3×3 kernels [out, in, 3, 3].</summary>
    public static Tensor Smooth(Tensor kernels, double p)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        if (kernels.dim() != 4 || kernels.shape[2] != 3 || kernels.shape[3] != 3)
            throw new ArgumentException($"kernels must be [out, in, 3, 3]; got [{string.Join(", ", kernels.shape)}].", nameof(kernels));
        if (!(p >= 0 && double.IsFinite(p))) throw new ArgumentOutOfRangeException(nameof(p), p, $"p must be a finite number >= 0; got {p}.");
        using var scope = torch.NewDisposeScope();
        var mask = torch.full(new long[] { 1, 1, 3, 3 }, p, dtype: kernels.dtype, device: kernels.device);
        mask[0, 0, 1, 1] = torch.tensor(1.0, dtype: kernels.dtype);
        var flat = kernels.reshape(-1, 1, 3, 3);
        // M is symmetric, so cross-correlation (conv2d) equals convolution.
        return nn.functional.conv2d(flat, mask, padding: new long[] { 1, 1 }).reshape(kernels.shape).MoveToOuterDisposeScope();
    }

    /// <summary>The first Conv2d of a model (module order), whose kernels must be 3×3.</summary>
    public static Conv2d FirstConvolution(nn.Module model)
    {
        var conv = model.modules().OfType<Conv2d>().FirstOrDefault()
            ?? throw new ArgumentException("model must contain a Conv2d layer; it has none.", nameof(model));
        return conv;
    }

    /// <summary>Smooths the model's first convolution in place; dispose the result to restore the original kernels.</summary>
    public static IDisposable Apply(nn.Module model, double p)
    {
        var conv = FirstConvolution(model);
        using var noGrad = torch.no_grad();
        var original = conv.weight!.detach().clone();
        using (var smoothed = Smooth(original, p)) conv.weight!.copy_(smoothed);
        return new Restore(conv, original);
    }

    sealed class Restore(Conv2d conv, Tensor original) : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            using (torch.no_grad()) conv.weight!.copy_(original);
            original.Dispose();
        }
    }
}
