using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Runtime;

/// <summary>
/// Making TorchSharp usable: one place that loads the native backend, picks a device, sets the
/// thread count and seeds every random source. All entry points (tests, CLI, notebooks) go through it.
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool _loaded;

    /// <summary>
    /// Loads TorchSharp's native backend once: <see cref="TorchNativeLoader.Preload"/> loads libtorch and
    /// a bridge library this host can load (patched where needed) by absolute path, in every host
    /// (CLI, tests, the .NET Interactive kernel), then TorchSharp initialises on top of them. A load
    /// failure becomes an error that says what to do. Then <see cref="ConvolutionGuard"/> checks float32
    /// convolutions against float64 before anything else runs.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            NativeAllocator.Tune();
            try
            {
                TorchNativeLoader.Preload();
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException
                                          or InvalidOperationException or InvalidDataException or IOException)
            {
                throw new InvalidOperationException(
                    "TorchSharp's native library did not load. Reference TorchSharp-cpu (or TorchSharp-cuda-linux) beside " +
                    $"the workbench; libLibTorchSharp.so and libtorch are looked for beside TorchSharp.dll and in the NuGet " +
                    $"package layout (found: {TorchNativeLoader.LoadedBridge ?? "none"}). Inner error: {e.Message}", e);
            }
            ConvolutionGuard.VerifyAfterLoad(); // before any caller's convolution: wrong float32 gradients are an error here
            _loaded = true;
        }
    }

    /// <summary>The default device: CUDA when the CUDA backend is built in and a GPU is present, else CPU.</summary>
    public static Device DefaultDevice
    {
        get
        {
            EnsureLoaded();
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }
    }

    /// <summary>
    /// Seeds every random source the workbench uses. Bitwise determinism on CPU also needs a fixed
    /// thread count (reductions are split by thread), so call <see cref="SetThreads"/> first.
    /// </summary>
    public static void Seed(long seed)
    {
        EnsureLoaded();
        torch.random.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }

    /// <summary>Sets libtorch's intra-op thread count (default: the number of cores).</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be >= 1.");
        EnsureLoaded();
        torch.set_num_threads(threads);
    }

    public static int Threads { get { EnsureLoaded(); return torch.get_num_threads(); } }

    /// <summary>Versions for provenance records: workbench, TorchSharp, libtorch.</summary>
    public static IReadOnlyDictionary<string, string> Versions()
    {
        EnsureLoaded();
        return new Dictionary<string, string>
        {
            ["workbench"] = typeof(TorchRuntime).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown",
            ["libtorch"] = torch.__version__,
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["os"] = RuntimeInformation.OSDescription,
            ["threads"] = torch.get_num_threads().ToString(),
            ["convolution"] = ConvolutionGuard.Status,
        };
    }
}

/// <summary>
/// glibc's malloc serves blocks above its mmap threshold (adaptive, at most 32 MiB) with fresh
/// mmap calls and returns freed heap tops to the system, so a loop that allocates and frees the
/// same large activations every pass pays page faults and zeroing every time. Batched evaluation
/// does exactly that; raising both thresholds keeps those blocks in the heap for reuse (the trade:
/// freed memory stays with the process, up to the size of the largest working set). Set
/// WORKBENCH_MALLOC_TUNING=0 to keep glibc's defaults (e.g. to measure the difference).
/// </summary>
public static class NativeAllocator
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    /// <summary>Bytes below which blocks come from the heap after tuning.</summary>
    public const int MmapThresholdBytes = 256 << 20;

    /// <summary>True when the thresholds were raised in this process.</summary>
    public static bool Tuned { get; private set; }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int parameter, int value);

    internal static void Tune()
    {
        if (Tuned || !OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("WORKBENCH_MALLOC_TUNING") == "0") return;
        try { Tuned = MallOpt(M_MMAP_THRESHOLD, MmapThresholdBytes) == 1 & MallOpt(M_TRIM_THRESHOLD, 2 * MmapThresholdBytes) == 1; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl): defaults stay
    }
}
