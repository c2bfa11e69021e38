using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Workbench.Runtime;

/// <summary>Where TorchSharp's native libraries are: its own bridge library and libtorch's folder.</summary>
/// <param name="TorchSharpNative">libLibTorchSharp.so as shipped (build output or NuGet package).</param>
/// <param name="LibTorchFolder">The folder holding libtorch.so, libtorch_cpu.so and libc10.so.</param>
public sealed record TorchNativeLayout(string TorchSharpNative, string LibTorchFolder);

/// <summary>
/// Loads TorchSharp's native libraries before TorchSharp looks for them, in every host: the CLI, the
/// tests, and the .NET Interactive kernel. The kernel loads <c>#r</c> assemblies into its own load
/// contexts without the application's <c>runtimes/</c> probing, so TorchSharp's own search fails there
/// and its fallback copies the unpatched libtorch next to TorchSharp.dll (into a build output or the
/// NuGet cache), which then fails on hosts whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12).
/// Here: find the bridge and libtorch (build output, or the NuGet package layout), use a copy of the
/// bridge patched by <see cref="ElfVersionNeedPatcher"/> where the host needs it (made once, atomically,
/// in a per-user cache keyed by the file's hash: the NuGet cache is never written), and
/// <see cref="NativeLibrary.Load(string)"/> them by absolute path. TorchSharp's later load by name then
/// finds the already-loaded libraries (the dynamic loader matches them by soname): one libtorch per process.
/// </summary>
public static class TorchNativeLoader
{
    static readonly object Gate = new();
    static volatile bool _attempted;
    static Exception? _failure;

    /// <summary>The bridge library this process loaded, once <see cref="Preload"/> ran (null before, or off Linux).</summary>
    public static string? LoadedBridge { get; private set; }

    /// <summary>libtorch's folder this process loaded from, once <see cref="Preload"/> ran.</summary>
    public static string? LoadedLibTorchFolder { get; private set; }

    /// <summary>The libtorch version TorchSharp was built against (the NuGet package folder's name).</summary>
    public static string LibTorchVersion =>
        typeof(TorchNativeLoader).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "LibTorchVersion")?.Value ?? "2.10.0";

    /// <summary>Per-user folder for patched copies: WORKBENCH_NATIVE_CACHE, else $XDG_CACHE_HOME/workbench/native, else ~/.cache/workbench/native.</summary>
    public static string CacheFolder
    {
        get
        {
            var explicitFolder = Environment.GetEnvironmentVariable("WORKBENCH_NATIVE_CACHE");
            if (!string.IsNullOrEmpty(explicitFolder)) return explicitFolder;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "workbench", "native");
        }
    }

    /// <summary>
    /// Loads libtorch and the (patched where needed) bridge once per process. Does nothing off Linux x64/arm64
    /// (TorchSharp's own loading works there) or when the libraries cannot be found next to TorchSharp.dll,
    /// in which case TorchSharp's own error says what is missing.
    /// </summary>
    public static void Preload()
    {
        if (_attempted && _failure is null) return;
        lock (Gate)
        {
            // A failed preload fails every later call the same way: TorchSharp's own fallback (which copies the
            // unpatched libraries next to TorchSharp.dll) must never get its turn.
            if (_failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
            if (_attempted) return;
            _attempted = true;
            try { PreloadOnce(); }
            catch (Exception e) { _failure = e; throw; }
        }
    }

    static void PreloadOnce()
    {
        // libtorch logs "Could not initialize NNPACK! Reason: Unsupported hardware." as a warning on every CPU
        // without AVX2-era NNPACK support, hundreds of times per run; show its errors only (a user's own
        // TORCH_CPP_LOG_LEVEL wins). Read once when libc10 loads, so it is set before anything loads.
        NativeEnvironment.SetDefault("TORCH_CPP_LOG_LEVEL", "ERROR");
        ThreadPolicy.ApplyBeforeNativeLoad(); // OpenMP's wait policy, also read once when libgomp loads
        if (!OperatingSystem.IsLinux()) return;
        var torchSharp = typeof(TorchSharp.torch).Assembly.Location;
        if (string.IsNullOrEmpty(torchSharp)) return; // loaded from bytes: nothing to locate against
        var layout = Locate(Path.GetDirectoryName(torchSharp)!, LibTorchVersion);
        if (layout is null) return;
        var bridge = LoadableBridge(layout.TorchSharpNative, CacheFolder);
        // libtorch first: its own RUNPATH ($ORIGIN) finds libtorch_cpu, libc10 and libgomp beside it;
        // the bridge's needs (libtorch.so, libc10.so, libtorch_cpu.so) then match the loaded sonames.
        foreach (var name in new[] { "libtorch.so", "libtorch_cpu.so", "libc10.so" })
        {
            var file = Path.Combine(layout.LibTorchFolder, name);
            if (File.Exists(file)) NativeLibrary.Load(file);
        }
        NativeLibrary.Load(bridge);
        LoadedLibTorchFolder = layout.LibTorchFolder;
        LoadedBridge = bridge;
    }

    /// <summary>
    /// Finds the bridge and libtorch for a TorchSharp.dll in <paramref name="torchSharpFolder"/>. The bridge: in
    /// <c>runtimes/&lt;rid&gt;/native/</c> or beside it (an application or build output), or in the NuGet package
    /// layout (<c>torchsharp/&lt;v&gt;/lib/&lt;tfm&gt;/TorchSharp.dll</c>, bridge in <c>torchsharp/&lt;v&gt;/runtimes/&lt;rid&gt;/native/</c>).
    /// libtorch: beside the bridge or TorchSharp.dll (a self-contained output), else in the package
    /// <c>libtorch-cpu-&lt;rid&gt;/&lt;libTorchVersion&gt;/runtimes/&lt;rid&gt;/native/</c> of the NuGet folder TorchSharp came from
    /// or of <paramref name="globalPackages"/> (where a build output's deps.json resolves it). Null when either is missing.
    /// </summary>
    public static TorchNativeLayout? Locate(string torchSharpFolder, string libTorchVersion, string? globalPackages = null)
    {
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        const string bridgeName = "libLibTorchSharp.so";
        var native = Path.Combine("runtimes", rid, "native");
        var package = Directory.GetParent(torchSharpFolder)?.Parent;   // <root>/torchsharp/<version> in the NuGet layout
        var packageRoot = package?.Parent?.Parent?.FullName;
        var bridge = new[] { Path.Combine(torchSharpFolder, native), torchSharpFolder }
            .Concat(package is null ? [] : new[] { Path.Combine(package.FullName, native) })
            .Select(folder => Path.Combine(folder, bridgeName)).FirstOrDefault(File.Exists);
        if (bridge is null) return null;
        var libTorchPackage = Path.Combine("libtorch-cpu-" + rid, libTorchVersion, native);
        var libTorch = new[] { Path.GetDirectoryName(bridge)!, torchSharpFolder, Path.Combine(torchSharpFolder, native) }
            .Concat(new[] { packageRoot, globalPackages ?? GlobalPackagesFolder() }.Where(r => r is not null).Select(r => Path.Combine(r!, libTorchPackage)))
            .FirstOrDefault(folder => File.Exists(Path.Combine(folder, "libtorch.so")));
        return libTorch is null ? null : new TorchNativeLayout(bridge, libTorch);
    }

    /// <summary>NuGet's global packages folder: NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public static string GlobalPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder ? folder
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>
    /// The bridge itself when this host can load it as is (its libstdc++ defines every version the file needs,
    /// or the file was patched already), else a patched copy in <paramref name="cacheFolder"/>, made once:
    /// copied to an exclusive temporary file, patched, renamed into place (readers never see half a file).
    /// </summary>
    public static string LoadableBridge(string bridge, string cacheFolder)
    {
        var host = ElfVersionNeedPatcher.FindHostLibStdCxx();
        if (host is null) return bridge;
        var hostVersions = ElfVersionNeedPatcher.ReadVersionDefinitions(host);
        if (!NeedsPatch(bridge, hostVersions)) return bridge;

        string hash;
        using (var stream = File.OpenRead(bridge)) hash = Convert.ToHexString(SHA256.HashData(stream))[..16].ToLowerInvariant();
        var folder = Path.Combine(cacheFolder, "torchsharp-" + hash);
        var patched = Path.Combine(folder, Path.GetFileName(bridge));
        if (File.Exists(patched) && !NeedsPatch(patched, hostVersions)) return patched;

        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $"{Path.GetFileName(bridge)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var source = File.OpenRead(bridge))
            using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write)) // never follows a planted file
                source.CopyTo(target);
            ElfVersionNeedPatcher.WeakenMissingMarkerVersions(temporary, hostVersions);
            File.Move(temporary, patched, overwrite: true);
        }
        finally { if (File.Exists(temporary)) File.Delete(temporary); }
        return patched;
    }

    /// <summary>True when the file needs a libstdc++ version the host lacks and that need is not weak yet.</summary>
    public static bool NeedsPatch(string elf, IReadOnlyCollection<string> hostVersions) =>
        ElfVersionNeedPatcher.ReadVersionNeeds(elf)
            .Any(n => n.File.StartsWith("libstdc++", StringComparison.Ordinal) && !n.IsWeak && !hostVersions.Contains(n.Version));
}

/// <summary>Runs the native preload when the Workbench assembly loads, before any of its code can touch TorchSharp.</summary>
static class TorchNativeLoaderModuleInitializer
{
#pragma warning disable CA2255 // a library module initializer, on purpose: TorchSharp's own search must never run before the preload
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Run()
    {
        // A failure is kept by the loader and thrown, with what to do, by the first TorchRuntime.EnsureLoaded.
        try { TorchNativeLoader.Preload(); }
        catch (Exception e) when (e is not OutOfMemoryException) { }
    }
}
