using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Models;

/// <summary>
/// A linear or 2-D convolution layer whose weight is divided by its largest singular value
/// (Miyato et al., 2018), estimated by power iteration on the weight reshaped to
/// [out, in·kh·kw] as PyTorch's spectral_norm does. Training mode runs one iteration per forward
/// and stores u; eval mode reuses the stored u. TorchSharp has no built-in, hence this module:
/// it holds the raw weight ("weight_orig") as the parameter and u as a buffer.
/// </summary>
public sealed class SpectralNormLayer : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight_orig;
    readonly Parameter? bias;
    readonly Tensor u;
    readonly long[] _stride, _padding;
    readonly bool _isConv;
    readonly int _iterations;

    public SpectralNormLayer(string name, nn.Module<Tensor, Tensor> layer, int powerIterations = 1) : base(name)
    {
        if (powerIterations < 1) throw new ArgumentOutOfRangeException(nameof(powerIterations), powerIterations, "powerIterations must be >= 1.");
        _iterations = powerIterations;
        switch (layer)
        {
            case Linear l:
                weight_orig = new Parameter(l.weight!.detach().clone());
                bias = l.bias is null ? null : new Parameter(l.bias.detach().clone());
                _stride = _padding = Array.Empty<long>();
                break;
            case Conv2d c:
                weight_orig = new Parameter(c.weight!.detach().clone());
                bias = c.bias is null ? null : new Parameter(c.bias.detach().clone());
                _stride = c.stride; _padding = c.padding ?? new long[] { 0, 0 };
                _isConv = true;
                break;
            default:
                throw new ArgumentException($"layer must be Linear or Conv2d; got {layer.GetType().Name}.", nameof(layer));
        }
        using (torch.no_grad())
            u = nn.functional.normalize(torch.randn(weight_orig.shape[0]), dim: 0);
        RegisterComponents();
    }

    /// <summary>The current estimate of the raw weight's largest singular value (no update).</summary>
    public double Sigma
    {
        get
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            return SigmaOf(weight_orig.flatten(1)).item<float>();
        }
    }

    /// <summary>Runs power iterations without a forward pass (e.g. to converge before a check).</summary>
    public void PowerIterate(int iterations)
    {
        for (int i = 0; i < iterations; i++) Iterate();
    }

    /// <summary>One round of power iteration on the flattened weight, updating the stored u.</summary>
    void Iterate()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var w = weight_orig.flatten(1);
        var uVec = (Tensor)u;
        for (int i = 0; i < _iterations; i++)
        {
            var v = nn.functional.normalize(w.t().mv(uVec), dim: 0);
            uVec = nn.functional.normalize(w.mv(v), dim: 0);
        }
        u.copy_(uVec);
    }

    /// <summary>sigma = uᵀ W v with v = normalize(Wᵀu). u and v are constants; sigma is differentiable
    /// in W, as in PyTorch's implementation.</summary>
    Tensor SigmaOf(Tensor w)
    {
        Tensor v;
        using (torch.no_grad()) v = nn.functional.normalize(w.t().mv(u), dim: 0);
        return u.dot(w.mv(v));
    }

    public override Tensor forward(Tensor input)
    {
        if (training) Iterate();
        using var scope = torch.NewDisposeScope();
        var weight = weight_orig / SigmaOf(weight_orig.flatten(1));
        var output = _isConv
            ? nn.functional.conv2d(input, weight, bias, strides: _stride, padding: _padding)
            : nn.functional.linear(input, weight, bias);
        return output.MoveToOuterDisposeScope();
    }
}
