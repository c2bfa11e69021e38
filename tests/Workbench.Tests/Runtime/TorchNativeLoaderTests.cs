using System.Security.Cryptography;
using Workbench.Runtime;

namespace Workbench.Tests.Runtime;

/// <summary>Finding and patching TorchSharp's native bridge for hosts (the notebook kernel) that load TorchSharp from NuGet.</summary>
public sealed class TorchNativeLoaderTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("nativeloader");
    public void Dispose() => _dir.Delete(true);

    static string OutputBridge() => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>The bridge as TorchSharp ships it: the build output's copy with the build's patch undone.</summary>
    string ShippedBridge(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(OutputBridge(), path);
        var entry = ElfVersionNeedPatcher.ReadVersionNeeds(path).Single(n => n.Version == "GLIBCXX_3.4.32");
        var bytes = File.ReadAllBytes(path);
        ushort shipped = (ushort)(entry.Flags & ~ElfVersionNeed.WeakFlag);
        bytes[entry.FlagsOffset] = (byte)shipped;
        bytes[entry.FlagsOffset + 1] = (byte)(shipped >> 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static IReadOnlyCollection<string> HostVersions() => ElfVersionNeedPatcher.ReadVersionDefinitions(ElfVersionNeedPatcher.FindHostLibStdCxx()!);

    [Fact]
    public void This_process_loaded_the_bridge_and_libtorch_from_the_build_output()
    {
        if (!OperatingSystem.IsLinux()) return;
        TorchRuntime.EnsureLoaded();
        Assert.Equal(Path.GetFullPath(OutputBridge()), TorchNativeLoader.LoadedBridge);
        Assert.True(File.Exists(Path.Combine(TorchNativeLoader.LoadedLibTorchFolder!, "libtorch.so")));
        Assert.False(Directory.Exists(Path.Combine(AppContext.BaseDirectory, "cpu")), "TorchSharp's fallback folder appeared");
    }

    [Fact]
    public void Locate_finds_the_nuget_package_layout()
    {
        var root = Path.Combine(_dir.FullName, "packages");
        var lib = Directory.CreateDirectory(Path.Combine(root, "torchsharp", "0.107.0", "lib", "net6.0")).FullName;
        var bridge = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var libtorch = Directory.CreateDirectory(Path.Combine(root, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native")).FullName;
        Directory.CreateDirectory(Path.GetDirectoryName(bridge)!);
        File.WriteAllText(bridge, "");
        var elsewhere = Path.Combine(_dir.FullName, "no-packages");
        Assert.Null(TorchNativeLoader.Locate(lib, "2.10.0", elsewhere));   // no libtorch.so yet: nothing half-found
        File.WriteAllText(Path.Combine(libtorch, "libtorch.so"), "");
        Assert.Equal(new TorchNativeLayout(bridge, libtorch), TorchNativeLoader.Locate(lib, "2.10.0", elsewhere));
        Assert.Null(TorchNativeLoader.Locate(lib, "2.9.0", elsewhere));    // another libtorch version is not taken
    }

    [Fact]
    public void Locate_finds_a_build_output()
    {
        var output = Path.GetFullPath(AppContext.BaseDirectory);
        var layout = TorchNativeLoader.Locate(output, TorchNativeLoader.LibTorchVersion);
        Assert.NotNull(layout);
        Assert.Equal(Path.GetFullPath(OutputBridge()), layout!.TorchSharpNative);
    }

    [Fact]
    public void A_shipped_bridge_is_patched_once_into_the_cache_and_the_source_is_never_written()
    {
        if (!OperatingSystem.IsLinux()) return;
        var source = ShippedBridge(Path.Combine(_dir.FullName, "nuget", "libLibTorchSharp.so"));
        var hostVersions = HostVersions();
        if (!TorchNativeLoader.NeedsPatch(source, hostVersions)) return; // a host with a new libstdc++ needs nothing
        var before = SHA256.HashData(File.ReadAllBytes(source));
        var cache = Path.Combine(_dir.FullName, "cache");

        var patched = TorchNativeLoader.LoadableBridge(source, cache);
        Assert.StartsWith(cache, patched);
        Assert.False(TorchNativeLoader.NeedsPatch(patched, hostVersions));
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(source)));
        Assert.Empty(Directory.GetFiles(cache, "*.tmp", SearchOption.AllDirectories));

        var written = File.GetLastWriteTimeUtc(patched);
        Assert.Equal(patched, TorchNativeLoader.LoadableBridge(source, cache)); // found, not made again
        Assert.Equal(written, File.GetLastWriteTimeUtc(patched));
    }

    [Fact]
    public void A_damaged_cached_copy_is_made_again()
    {
        if (!OperatingSystem.IsLinux()) return;
        var source = ShippedBridge(Path.Combine(_dir.FullName, "nuget", "libLibTorchSharp.so"));
        if (!TorchNativeLoader.NeedsPatch(source, HostVersions())) return;
        var cache = Path.Combine(_dir.FullName, "cache");
        var patched = TorchNativeLoader.LoadableBridge(source, cache);
        File.Copy(source, patched, overwrite: true); // an unpatched file where the patched one should be
        Assert.Equal(patched, TorchNativeLoader.LoadableBridge(source, cache));
        Assert.False(TorchNativeLoader.NeedsPatch(patched, HostVersions()));
    }

    [Fact]
    public void A_bridge_the_host_can_load_is_used_in_place()
    {
        if (!OperatingSystem.IsLinux()) return;
        var cache = Path.Combine(_dir.FullName, "cache");
        Assert.Equal(OutputBridge(), TorchNativeLoader.LoadableBridge(OutputBridge(), cache)); // already patched by the build
        Assert.False(Directory.Exists(cache));
    }
}
