using TorchSharp;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Models;

public class ModelIOTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("modelio").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Theory]
    [InlineData("cnn", false)]
    [InlineData("resnet", false)]
    [InlineData("mlp", true)]
    public void Round_trip_gives_bitwise_identical_outputs(string arch, bool sn)
    {
        var spec = new ModelSpec(arch, SpectralNorm: sn);
        TorchRuntime.Seed(4);
        using var a = spec.Build();
        a.train();
        using (var warm = a.call(torch.rand(4, 1, 28, 28))) { } // moves BatchNorm statistics and spectral-norm u away from init
        a.eval();
        var path = Path.Combine(_dir, "m.bin");
        ModelIO.Save(a, path);
        TorchRuntime.Seed(5);
        using var b = spec.Build();
        ModelIO.Load(b, path);
        b.eval();
        using var x = torch.rand(3, 1, 28, 28);
        using var ya = a.call(x);
        using var yb = b.call(x);
        Assert.True(ya.equal(yb).all().item<bool>());
        Assert.False(File.Exists(path + $".{Environment.ProcessId}.tmp"));
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip")]
    [InlineData("garbage")]
    public void Corrupt_files_are_detected_naming_the_file(string damage)
    {
        TorchRuntime.Seed(6);
        using var m = new ModelSpec("cnn").Build();
        var path = Path.Combine(_dir, "c.bin");
        ModelIO.Save(m, path);
        var bytes = File.ReadAllBytes(path);
        bytes = damage switch
        {
            "truncate" => bytes[..(bytes.Length / 2)],
            "flip" => bytes.Select((b, i) => i == bytes.Length - 100 ? (byte)(b ^ 1) : b).ToArray(),
            _ => "not a model"u8.ToArray(),
        };
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => ModelIO.Load(m, path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Loading_into_a_different_architecture_is_an_error()
    {
        TorchRuntime.Seed(7);
        using var cnn = new ModelSpec("cnn").Build();
        using var mlp = new ModelSpec("mlp").Build();
        var path = Path.Combine(_dir, "x.bin");
        ModelIO.Save(cnn, path);
        var e = Assert.Throws<InvalidDataException>(() => ModelIO.Load(mlp, path));
        Assert.Contains("does not match", e.Message);
    }
}
