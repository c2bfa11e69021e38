using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Runtime;

/// <summary>
/// Guards against wrong float32 convolutions from oneDNN, libtorch's CPU convolution backend.
/// <para>
/// On the 2-core AMD EPYC reference machines (Firecracker VMs; libtorch 2.10 with oneDNN 3.7.1, which picks its AVX-512
/// kernels there), oneDNN's float32 convolutions are silently wrong whenever a channel count is not a multiple of the
/// kernels' channel block (16 for AVX-512, 8 for AVX and AVX2), i.e. when the blocked layout is padded. Of 315 shapes
/// tried (1-24 input and 1-32 output channels, 4×4 to 14×14 maps, 3×3 and 1×1 kernels, strides 1 and 2, batch 16),
/// 97 had relative errors of 0.02-0.9 or NaN against float64: the input gradient of 4→8 channels on 6×6 maps, of 1→8
/// on 14×14; for 24 input channels the forward pass too. The errors are the same on every run (not uninitialised
/// memory: glibc's malloc settings and MALLOC_PERTURB_ change nothing), batch 1 is right, and so are the layers
/// of the small CNN (1→32→64 channels). Training on such layers turns NaN at random; attributions through them are wrong.
/// Capping oneDNN's ISA is no fix: at AVX2, 2 of 3 probe shapes stayed wrong; at AVX, 72 of 324 shapes with 3-40
/// channels (12→3 channels, forward included). Only SSE4.1 (here 1.7× the time of an input gradient and 2.2× of a
/// training step of the small CNN, against oneDNN's default) and ATen's own convolutions were right on every shape.
/// </para>
/// <para>
/// So <see cref="VerifyAfterLoad"/>, run once when libtorch loads, checks float32 convolutions against float64 on
/// shapes of each failing kind (<see cref="ProbeShapes"/>). If any disagrees, it turns oneDNN off in ATen
/// (at::Context::setUserEnabledMkldnn(false); ATen's own im2col kernels then run: about 1.25× the time of an input
/// gradient and 1.6× of a training step of the small CNN here) and checks again. If convolutions are still wrong,
/// loading fails: no result is better than a wrong one. On a machine where oneDNN is right, nothing changes.
/// <see cref="Status"/> says what happened; it is part of <see cref="TorchRuntime.Versions"/> (provenance) and
/// `workbench info`.
/// </para>
/// </summary>
public static class ConvolutionGuard
{
    /// <summary>Largest error, relative to the float64 result's largest magnitude, accepted from float32 (rounding gives ~1e-7).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>What the guard did, for provenance and `workbench info`.</summary>
    public static string Status { get; private set; } = "not checked";

    /// <summary>
    /// Checks float32 convolutions against float64 (<see cref="FirstMismatch"/>); on a mismatch turns oneDNN off in ATen
    /// and checks again; throws if they are still wrong. Called once by <see cref="TorchRuntime.EnsureLoaded"/>.
    /// </summary>
    public static void VerifyAfterLoad() => Status = Verify(() => FirstMismatch(), () => OneDnn.TrySetEnabled(false));

    /// <summary>
    /// The guard's decision, given the check and the switch that turns oneDNN off (true when it did): the status to
    /// record, or an <see cref="InvalidOperationException"/> when convolutions cannot be made right. A user's oneDNN ISA
    /// cap (DNNL_MAX_CPU_ISA, ONEDNN_MAX_CPU_ISA) is named in the status, since it decides which kernels were checked.
    /// </summary>
    public static string Verify(Func<string?> check, Func<bool> turnOffOneDnn)
    {
        var cap = string.Join(", ", new[] { "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA" }
            .Select(name => (name, value: NativeEnvironment.Get(name))).Where(v => !string.IsNullOrWhiteSpace(v.value)).Select(v => $"{v.name}={v.value}"));
        var prefix = cap.Length > 0 ? $"oneDNN capped by the user ({cap}); " : "";
        var mismatch = check();
        if (mismatch is null) return prefix + "float32 convolutions agree with float64";
        if (!turnOffOneDnn())
            throw new InvalidOperationException(
                $"float32 convolutions are wrong on this machine ({mismatch}) and oneDNN could not be turned off in this process. " +
                "Set DNNL_MAX_CPU_ISA=SSE41 in the environment before starting it.");
        var after = check();
        if (after is not null)
            throw new InvalidOperationException(
                $"float32 convolutions are wrong on this machine ({mismatch}), and still wrong with oneDNN turned off ({after}).");
        return prefix + $"oneDNN turned off: its float32 convolutions disagreed with float64 ({mismatch}); ATen's agree";
    }

    /// <summary>
    /// The probe shapes, (input channels, output channels, map size, stride), each wrong on the reference machine: input
    /// gradients with padded output channels at 16- and 8-blocking, the forward pass with padded input channels.
    /// </summary>
    public static readonly IReadOnlyList<(int In, int Out, int Size, int Stride)> ProbeShapes =
        [(1, 8, 14, 1), (4, 8, 6, 1), (8, 4, 6, 1), (2, 8, 4, 2), (12, 3, 7, 1), (24, 16, 7, 2)];

    /// <summary>
    /// Runs a 3×3 convolution (padding 1) forward and backward in float32 and float64 on each probe shape, batch 16,
    /// and returns the first disagreement (output, input gradient or weight gradient), or null when all agree.
    /// <paramref name="convolution"/> replaces <c>conv2d(input, weight, stride, padding 1)</c>, for tests.
    /// Uses its own generator: the global random state is untouched.
    /// </summary>
    public static string? FirstMismatch(Func<Tensor, Tensor, long, Tensor>? convolution = null)
    {
        convolution ??= (x, w, stride) => nn.functional.conv2d(x, w, strides: [stride, stride], padding: [1, 1]);
        using var generator = new Generator(20261202);
        foreach (var (cin, cout, size, stride) in ProbeShapes)
        {
            using var scope = NewDisposeScope();
            var x = randn([16, cin, size, size], float64, generator: generator);
            var w = randn([cout, cin, 3, 3], float64, generator: generator) * 0.3;
            var (y64, gx64, gw64) = Pass(convolution, x, w, stride);
            var (y32, gx32, gw32) = Pass(convolution, x.to_type(float32), w.to_type(float32), stride);
            foreach (var (name, low, high) in new[] { ("output", y32, y64), ("input gradient", gx32, gx64), ("weight gradient", gw32, gw64) })
            {
                var error = ((low.to_type(float64) - high).abs().max() / high.abs().max().clamp_min(1e-12)).item<double>();
                if (!(error <= Tolerance))
                    return $"{name} of a {cin}->{cout} channel 3x3 convolution, stride {stride}, on {size}x{size} maps: relative error {error:G3}";
            }
        }
        return null;
    }

    static (Tensor Output, Tensor InputGradient, Tensor WeightGradient) Pass(Func<Tensor, Tensor, long, Tensor> convolution, Tensor x, Tensor w, long stride)
    {
        var input = x.detach().requires_grad_(true);
        var weight = w.detach().requires_grad_(true);
        var output = convolution(input, weight, stride);
        // A gradient that varies over the map, so that misplaced contributions show.
        var upstream = torch.ones_like(output) + 0.1 * output.detach();
        var grads = autograd.grad([output], [input, weight], [upstream]);
        return (output.detach(), grads[0], grads[1]);
    }

    /// <summary>ATen's switch for oneDNN (at::Context::setUserEnabledMkldnn), exported by libtorch_cpu but not bound by TorchSharp.</summary>
    static class OneDnn
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GlobalContext();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate void SetUserEnabled(IntPtr context, byte enabled);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate byte UserEnabled(IntPtr context);

        public static bool TrySetEnabled(bool enabled)
        {
            var folder = TorchNativeLoader.LoadedLibTorchFolder;
            var library = folder is not null && NativeLibrary.TryLoad(Path.Combine(folder, "libtorch_cpu.so"), out var h) ? h
                : NativeLibrary.TryLoad("libtorch_cpu.so", out var h2) ? h2 : IntPtr.Zero;
            if (library == IntPtr.Zero
                || !NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var contextExport)
                || !NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb", out var setExport)
                || !NativeLibrary.TryGetExport(library, "_ZNK2at7Context17userEnabledMkldnnEv", out var getExport))
                return false;
            var context = Marshal.GetDelegateForFunctionPointer<GlobalContext>(contextExport)();
            Marshal.GetDelegateForFunctionPointer<SetUserEnabled>(setExport)(context, enabled ? (byte)1 : (byte)0);
            return (Marshal.GetDelegateForFunctionPointer<UserEnabled>(getExport)(context) != 0) == enabled;
        }
    }
}
