using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void TorchSharp_loads_and_a_training_step_lowers_the_loss()
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.Seed(0);
        using var model = nn.Linear(4, 2);
        using var x = torch.randn(32, 4);
        using var y = (x[.., 0] > 0).to(ScalarType.Int64);
        using var opt = optim.SGD(model.parameters(), 0.5);
        float first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            opt.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.8, $"loss {first} -> {last}");
    }

    [Fact]
    public void Versions_name_torchsharp_and_libtorch()
    {
        var v = TorchRuntime.Versions();
        Assert.StartsWith("0.107", v["torchsharp"]);
        Assert.StartsWith("2.10", v["libtorch"]);
    }

    [Fact]
    public void Glibc_allocator_thresholds_are_raised_once_torch_is_loaded()
    {
        TorchRuntime.EnsureLoaded();
        bool glibc = OperatingSystem.IsLinux() && (File.Exists("/usr/lib/x86_64-linux-gnu/libc.so.6") || File.Exists("/lib/x86_64-linux-gnu/libc.so.6"));
        if (!glibc) return;
        Assert.Equal(Environment.GetEnvironmentVariable("WORKBENCH_MALLOC_TUNING") != "0", NativeAllocator.Tuned);
    }

    [Fact]
    public void SetThreads_rejects_zero_naming_the_argument()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.SetThreads(0));
        Assert.Equal("threads", e.ParamName);
    }
}
