using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

/// <summary>Small networks for attribution tests, built from a seed, in float64 where tolerances need it.</summary>
static class Nets
{
    public static nn.Module<Tensor, Tensor> Linear(int inputs, int outputs, int seed)
    {
        TorchRuntime.Seed(seed);
        var m = nn.Sequential(("fc", nn.Linear(inputs, outputs)));
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    /// <summary>A smooth MLP (softplus or tanh): IG's Riemann sums converge fast on it.</summary>
    public static nn.Module<Tensor, Tensor> Smooth(int inputs, int hidden, int outputs, int seed, bool tanh = false)
    {
        TorchRuntime.Seed(seed);
        var m = nn.Sequential(
            ("fc1", nn.Linear(inputs, hidden)), ("act1", tanh ? nn.Tanh() : nn.Softplus(2)),
            ("fc2", nn.Linear(hidden, hidden)), ("act2", tanh ? nn.Tanh() : nn.Softplus(2)),
            ("fc3", nn.Linear(hidden, outputs)));
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    /// <summary>A ReLU MLP without biases (for LRP conservation and DeepLIFT tests).</summary>
    public static nn.Module<Tensor, Tensor> Relu(int inputs, int hidden, int outputs, int seed, bool bias = true)
    {
        TorchRuntime.Seed(seed);
        var m = nn.Sequential(
            ("fc1", nn.Linear(inputs, hidden, hasBias: bias)), ("act1", nn.ReLU()),
            ("fc2", nn.Linear(hidden, hidden, hasBias: bias)), ("act2", nn.ReLU()),
            ("fc3", nn.Linear(hidden, outputs, hasBias: bias)));
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    /// <summary>A small CNN on [B, 1, 8, 8] images: conv - relu - conv - relu - flatten - fc.</summary>
    public static nn.Module<Tensor, Tensor> Cnn(int seed, bool pool = false)
    {
        TorchRuntime.Seed(seed);
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("conv1", nn.Conv2d(1, 4, 3, padding: 1)), ("act1", nn.ReLU()),
            ("conv2", nn.Conv2d(4, 6, 3, padding: 1)), ("act2", nn.ReLU()),
        };
        if (pool) layers.Add(("pool", nn.MaxPool2d(2)));
        layers.Add(("flatten", nn.Flatten()));
        layers.Add(("fc", nn.Linear(pool ? 6 * 16 : 6 * 64, 3)));
        var m = nn.Sequential(layers.ToArray());
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    public static Tensor Inputs(long[] shape, int seed, double low = -1, double high = 1)
    {
        TorchRuntime.EnsureLoaded();
        using var g = new torch.Generator((ulong)seed);
        return torch.rand(shape, ScalarType.Float64, generator: g) * (high - low) + low;
    }
}
