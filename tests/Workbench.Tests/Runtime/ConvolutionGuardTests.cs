using System.Diagnostics;
using TorchSharp;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Runtime;

public class ConvolutionGuardTests
{
    [Fact]
    public void A_wrong_convolution_turns_onednn_off_and_the_check_runs_again()
    {
        var results = new Queue<string?>(["input gradient of a 4->8 channel 3x3 convolution: relative error 0.7", null]);
        int turnedOff = 0;
        var status = ConvolutionGuard.Verify(() => results.Dequeue(), () => { turnedOff++; return true; });
        Assert.Equal(1, turnedOff);
        Assert.Empty(results);
        Assert.Contains("oneDNN turned off", status);
        Assert.Contains("4->8 channel", status);
        Assert.Equal("float32 convolutions agree with float64", ConvolutionGuard.Verify(() => null, () => throw new Exception("not to be called")).Split("; ").Last());
    }

    [Fact]
    public void Convolutions_that_stay_wrong_or_a_switch_that_fails_are_errors()
    {
        var stillWrong = Assert.Throws<InvalidOperationException>(() => ConvolutionGuard.Verify(() => "output of a 12->3 channel", () => true));
        Assert.Contains("still wrong with oneDNN turned off", stillWrong.Message);
        var noSwitch = Assert.Throws<InvalidOperationException>(() => ConvolutionGuard.Verify(() => "output of a 12->3 channel", () => false));
        Assert.Contains("DNNL_MAX_CPU_ISA=SSE41", noSwitch.Message);
    }

    // The defect the guard exists for: on the reference machines, oneDNN's float32 convolutions had relative errors of
    // 0.02-0.9 (or NaN) whenever a channel count left its blocked layout padded. After the runtime loads, every shape of
    // this grid (wider than the guard's probes) must agree with float64 to rounding, whichever way the guard got there.
    [Fact]
    public void Float32_convolutions_agree_with_float64_on_small_channel_counts()
    {
        TorchRuntime.EnsureLoaded();
        using var generator = new Generator(7);
        var wrong = new List<string>();
        foreach (var cin in new[] { 1, 3, 4, 8, 12, 16, 24 })
        foreach (var cout in new[] { 1, 3, 8, 16, 32 })
        foreach (var size in new[] { 4, 7, 14 })
        foreach (var (kernel, stride, padding) in new[] { (3, 1, 1), (3, 2, 1), (1, 1, 0) })
        {
            using var scope = NewDisposeScope();
            var x = randn([16, cin, size, size], float64, generator: generator);
            var w = randn([cout, cin, kernel, kernel], float64, generator: generator) * 0.3;
            var upstream = randn([16, cout, (size + 2 * padding - kernel) / stride + 1, (size + 2 * padding - kernel) / stride + 1], float64, generator: generator);
            Tensor[] Pass(ScalarType type)
            {
                var xi = x.to_type(type).requires_grad_(true);
                var wi = w.to_type(type).requires_grad_(true);
                var y = nn.functional.conv2d(xi, wi, strides: [stride, stride], padding: [padding, padding]);
                var grads = autograd.grad([y], [xi, wi], [upstream.to_type(type)]);
                return [y.detach().to_type(float64), grads[0].to_type(float64), grads[1].to_type(float64)];
            }
            var reference = Pass(float64);
            var single = Pass(float32);
            var names = new[] { "output", "input gradient", "weight gradient" };
            for (int i = 0; i < 3; i++)
            {
                var error = ((single[i] - reference[i]).abs().max() / reference[i].abs().max()).item<double>();
                if (!(error < 1e-4)) wrong.Add($"{names[i]} {cin}->{cout} k{kernel} s{stride} {size}x{size}: {error:G3}");
            }
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} disagreements, e.g. {string.Join("; ", wrong.Take(5))} ({ConvolutionGuard.Status})");
    }

    [Fact]
    public void The_check_names_a_wrong_float32_input_gradient_and_passes_the_real_convolution()
    {
        TorchRuntime.EnsureLoaded();
        Assert.Null(ConvolutionGuard.FirstMismatch());
        // Right output and weight gradient; the input gradient halved in float32, as a broken backward-data kernel would give.
        Tensor HalvedInputGradient(Tensor x, Tensor w, long stride)
        {
            Tensor Conv(Tensor input) => nn.functional.conv2d(input, w, strides: [stride, stride], padding: [1, 1]);
            if (x.dtype == float64) return Conv(x);
            return Conv(x.detach()) + 0.5 * (Conv(x) - Conv(x).detach());
        }
        var mismatch = ConvolutionGuard.FirstMismatch(HalvedInputGradient);
        Assert.NotNull(mismatch);
        Assert.StartsWith("input gradient of a 1->8 channel", mismatch);
        Assert.Contains("relative error 0.5", mismatch);
    }

    [Fact]
    public void The_check_leaves_the_global_random_state_alone()
    {
        TorchRuntime.Seed(3);
        var expected = torch.rand(4).data<float>().ToArray();
        TorchRuntime.Seed(3);
        ConvolutionGuard.FirstMismatch();
        Assert.Equal(expected, torch.rand(4).data<float>().ToArray());
    }

    // `workbench info` in a fresh process reports the guard's status (provenance records carry the same line).
    [Fact]
    public void Info_reports_what_the_guard_did()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"));
        start.ArgumentList.Add("info");
        start.Environment["DNNL_MAX_CPU_ISA"] = "SSE41";
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "workbench info did not finish");
        Assert.Equal(0, p.ExitCode);
        var line = stdout.Result.Split('\n').SingleOrDefault(l => l.StartsWith("convolution"));
        Assert.NotNull(line);
        Assert.Contains("oneDNN capped by the user (DNNL_MAX_CPU_ISA=SSE41)", line);
        Assert.Matches("float32 convolutions agree with float64|oneDNN turned off", line);
    }
}
