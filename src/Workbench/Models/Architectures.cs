using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Models;

/// <summary>Shared pieces of the architectures: layer construction (with optional spectral norm) and input checks.</summary>
static class Layers
{
    public static nn.Module<Tensor, Tensor> Linear(long inputs, long outputs, bool spectralNorm) =>
        spectralNorm ? new SpectralNormLayer("sn", nn.Linear(inputs, outputs)) : nn.Linear(inputs, outputs);

    public static nn.Module<Tensor, Tensor> Conv(long inputs, long outputs, long kernel, bool spectralNorm, long stride = 1, long padding = 0, bool bias = true) =>
        spectralNorm
            ? new SpectralNormLayer("sn", nn.Conv2d(inputs, outputs, kernel, stride: stride, padding: padding, bias: bias))
            : nn.Conv2d(inputs, outputs, kernel, stride: stride, padding: padding, bias: bias);

    public static void CheckImage(Tensor input, int channels, int size, string model)
    {
        if (input.dim() != 4 || input.shape[1] != channels || input.shape[2] != size || input.shape[3] != size)
            throw new ArgumentException(
                $"{model} expects input of shape [batch, {channels}, {size}, {size}]; got [{string.Join(", ", input.shape)}].", nameof(input));
    }
}

/// <summary>A multilayer perceptron on flattened images: flatten, (fc, activation) per hidden layer, fc.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> flatten;
    readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> layers;
    readonly long _inputs;

    public Mlp(ModelSpec spec, IReadOnlyList<int> hidden) : base("mlp")
    {
        _inputs = (long)spec.InputChannels * spec.ImageSize * spec.ImageSize;
        flatten = nn.Flatten();
        layers = new TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>>();
        long width = _inputs;
        foreach (var h in hidden)
        {
            layers.Add(Layers.Linear(width, h, spec.SpectralNorm));
            layers.Add(Activations.Create(spec.Activation, spec.SoftplusBeta));
            width = h;
        }
        layers.Add(Layers.Linear(width, spec.Classes, spec.SpectralNorm));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() < 2 || input.shape.Skip(1).Aggregate(1L, (a, b) => a * b) != _inputs)
            throw new ArgumentException($"mlp expects input of shape [batch, ...] with {_inputs} features per example; got [{string.Join(", ", input.shape)}].", nameof(input));
        var x = flatten.call(input);
        foreach (var layer in layers) x = layer.call(x);
        return x;
    }
}

/// <summary>
/// The small LeNet-like CNN every experiment uses: conv 3x3 (w, same padding) - act - maxpool - conv 3x3 (2w) -
/// act - maxpool - fc 128 - act - fc. Grad-CAM's layer is "act2", the rectified maps of the last conv. With
/// <see cref="ModelSpec.BatchNorm"/>, "bn1" and "bn2" (BatchNorm2d) sit between each conv and its activation.
/// </summary>
public sealed class SmallCnn : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> conv1, act1, pool1, conv2, act2, pool2, flatten, fc1, act3, fc2;
    readonly nn.Module<Tensor, Tensor>? bn1, bn2;
    readonly ModelSpec _spec;

    public SmallCnn(ModelSpec spec, int width) : base("cnn")
    {
        _spec = spec;
        conv1 = Layers.Conv(spec.InputChannels, width, 3, spec.SpectralNorm, padding: 1);
        if (spec.BatchNorm) bn1 = nn.BatchNorm2d(width);
        act1 = Activations.Create(spec.Activation, spec.SoftplusBeta);
        pool1 = nn.MaxPool2d(2);
        conv2 = Layers.Conv(width, 2 * width, 3, spec.SpectralNorm, padding: 1);
        if (spec.BatchNorm) bn2 = nn.BatchNorm2d(2 * width);
        act2 = Activations.Create(spec.Activation, spec.SoftplusBeta);
        pool2 = nn.MaxPool2d(2);
        flatten = nn.Flatten();
        long side = spec.ImageSize / 2 / 2; // "same" padding: only the pools shrink the maps
        if (side < 1) throw new ArgumentOutOfRangeException(nameof(spec), spec.ImageSize, $"cnn needs ImageSize >= 10; got {spec.ImageSize}.");
        fc1 = Layers.Linear(2 * width * side * side, 128, spec.SpectralNorm);
        act3 = Activations.Create(spec.Activation, spec.SoftplusBeta);
        fc2 = Layers.Linear(128, spec.Classes, spec.SpectralNorm);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        Layers.CheckImage(input, _spec.InputChannels, _spec.ImageSize, "cnn");
        var x = conv1.call(input);
        x = pool1.call(act1.call(bn1 is null ? x : bn1.call(x)));
        x = conv2.call(x);
        x = pool2.call(act2.call(bn2 is null ? x : bn2.call(x)));
        return fc2.call(act3.call(fc1.call(flatten.call(x))));
    }
}

/// <summary>A ResNet basic block (He et al., 2016): conv-bn-act-conv-bn, plus a 1x1 projection shortcut when the shape changes, then act.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> conv1, bn1, act1, conv2, bn2, act2;
    readonly nn.Module<Tensor, Tensor>? shortcut;

    public BasicBlock(long inputs, long outputs, long stride, ModelSpec spec) : base("block")
    {
        conv1 = Layers.Conv(inputs, outputs, 3, spec.SpectralNorm, stride, 1, bias: false);
        bn1 = nn.BatchNorm2d(outputs);
        act1 = Activations.Create(spec.Activation, spec.SoftplusBeta);
        conv2 = Layers.Conv(outputs, outputs, 3, spec.SpectralNorm, 1, 1, bias: false);
        bn2 = nn.BatchNorm2d(outputs);
        act2 = Activations.Create(spec.Activation, spec.SoftplusBeta);
        if (stride != 1 || inputs != outputs)
            shortcut = nn.Sequential(("conv", Layers.Conv(inputs, outputs, 1, spec.SpectralNorm, stride, bias: false)), ("bn", nn.BatchNorm2d(outputs)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = bn2.call(conv2.call(act1.call(bn1.call(conv1.call(input)))));
        return act2.call(x + (shortcut is null ? input : shortcut.call(input)));
    }
}

/// <summary>
/// A small ResNet with BatchNorm: stem (conv 3x3 w, bn, act), three stages of one basic block
/// (w, 2w, 4w channels; stride 1, 2, 2), global average pooling and one linear layer, so CAM applies.
/// </summary>
public sealed class ResNetMini : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> stem, stage1, stage2, stage3, pool, flatten, fc;
    readonly ModelSpec _spec;

    public ResNetMini(ModelSpec spec, int width) : base("resnet")
    {
        _spec = spec;
        stem = nn.Sequential(
            ("conv", Layers.Conv(spec.InputChannels, width, 3, spec.SpectralNorm, 1, 1, bias: false)),
            ("bn", nn.BatchNorm2d(width)),
            ("act", Activations.Create(spec.Activation, spec.SoftplusBeta)));
        stage1 = nn.Sequential(("block1", new BasicBlock(width, width, 1, spec)));
        stage2 = nn.Sequential(("block1", new BasicBlock(width, 2 * width, 2, spec)));
        stage3 = nn.Sequential(("block1", new BasicBlock(2 * width, 4 * width, 2, spec)));
        pool = nn.AdaptiveAvgPool2d(1);
        flatten = nn.Flatten();
        fc = Layers.Linear(4 * width, spec.Classes, spec.SpectralNorm);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        Layers.CheckImage(input, _spec.InputChannels, _spec.ImageSize, "resnet");
        var x = stage3.call(stage2.call(stage1.call(stem.call(input))));
        return fc.call(flatten.call(pool.call(x)));
    }
}
