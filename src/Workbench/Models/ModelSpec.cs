using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Models;

/// <summary>
/// Everything that decides a model's architecture: builds it and names it for caches. Seed the
/// random state (TorchRuntime.Seed) before <see cref="Build"/> for a reproducible initialisation.
/// <see cref="BatchNorm"/> puts a BatchNorm2d after each convolution of the cnn (the HFC paper's Fig. 5 compares training with
/// and without it); the resnet always has BatchNorm and the mlp has no convolution, so for them it must stay false.
/// </summary>
public sealed record ModelSpec(
    string Architecture,
    int InputChannels = 1, int ImageSize = 28, int Classes = 10,
    ActivationKind Activation = ActivationKind.ReLU, double SoftplusBeta = 10.0,
    bool SpectralNorm = false, int Width = 0, bool BatchNorm = false)
{
    public static readonly IReadOnlyList<string> Architectures = new[] { "mlp", "cnn", "resnet" };

    /// <summary>The spec of an architecture by its CLI name (mlp, cnn, resnet; lenet = cnn).</summary>
    public static ModelSpec Parse(string architecture)
    {
        var name = architecture?.Trim().ToLowerInvariant() switch { "lenet" => "cnn", var n => n };
        if (name is null || !Architectures.Contains(name))
            throw new ArgumentException($"architecture must be one of {string.Join(", ", Architectures)}; got '{architecture}'.", nameof(architecture));
        return new ModelSpec(name);
    }

    int EffectiveWidth => Width > 0 ? Width : Architecture switch { "cnn" => 32, "resnet" => 16, _ => 256 };

    /// <summary>Canonical text of every field, stable across runs, for content-addressed caches.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{Architecture}-c{InputChannels}-s{ImageSize}-k{Classes}-{(Activation == ActivationKind.ReLU ? "relu" : $"softplus{SoftplusBeta:R}")}{(SpectralNorm ? "-sn" : "")}-w{EffectiveWidth}{(BatchNorm ? "-bn" : "")}");

    /// <summary>The layer Grad-CAM uses by default: the rectified maps of the last convolution.</summary>
    public string LastConvLayer => Architecture switch
    {
        "cnn" => "act2",
        "resnet" => "stage3.block1.act2",
        _ => throw new InvalidOperationException($"architecture '{Architecture}' has no convolution layer."),
    };

    public nn.Module<Tensor, Tensor> Build(Device? device = null)
    {
        Validate();
        Workbench.Runtime.TorchRuntime.EnsureLoaded();
        nn.Module<Tensor, Tensor> model = Architecture switch
        {
            "mlp" => new Mlp(this, Width > 0 ? new[] { Width, Width / 2 } : new[] { 256, 128 }),
            "cnn" => new SmallCnn(this, EffectiveWidth),
            "resnet" => new ResNetMini(this, EffectiveWidth),
            _ => throw new InvalidOperationException("unreachable"),
        };
        if (device is not null) model.to(device);
        return model;
    }

    void Validate()
    {
        static void Check(bool ok, string name, string expected, object actual)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, actual, $"{name} must be {expected}; got {actual}.");
        }
        Check(Architectures.Contains(Architecture), nameof(Architecture), $"one of {string.Join(", ", Architectures)}", Architecture);
        Check(InputChannels >= 1, nameof(InputChannels), ">= 1", InputChannels);
        Check(ImageSize >= 10, nameof(ImageSize), ">= 10", ImageSize);
        Check(Classes >= 2, nameof(Classes), ">= 2", Classes);
        Check(SoftplusBeta > 0 && double.IsFinite(SoftplusBeta), nameof(SoftplusBeta), "a finite number > 0", SoftplusBeta);
        Check(Width >= 0, nameof(Width), ">= 0 (0 = the architecture's default)", Width);
        Check(!BatchNorm || Architecture == "cnn", nameof(BatchNorm), $"false for {Architecture} (only the cnn takes the option; the resnet always has BatchNorm)", BatchNorm);
    }
}
