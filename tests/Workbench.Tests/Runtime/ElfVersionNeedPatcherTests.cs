using Workbench.Runtime;

namespace Workbench.Tests.Runtime;

public class ElfVersionNeedPatcherTests
{
    static string OutputNativeLibrary() =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Build_output_library_has_no_hard_need_the_host_lacks()
    {
        if (!OperatingSystem.IsLinux()) return;
        var host = ElfVersionNeedPatcher.FindHostLibStdCxx();
        Assert.NotNull(host);
        var hostVersions = ElfVersionNeedPatcher.ReadVersionDefinitions(host!);
        Assert.Contains("GLIBCXX_3.4.30", hostVersions);
        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(OutputNativeLibrary());
        Assert.Contains(needs, n => n.Version == "GLIBCXX_3.4.32");
        var hardMissing = needs.Where(n => n.File.StartsWith("libstdc++") && !n.IsWeak && !hostVersions.Contains(n.Version)).ToList();
        Assert.DoesNotContain(hardMissing, n => n.Version.Length > 0);
    }

    [Fact]
    public void Patch_weakens_only_the_missing_marker_version_and_is_idempotent()
    {
        if (!OperatingSystem.IsLinux()) return;
        var dir = Directory.CreateTempSubdirectory("elfpatch");
        try
        {
            var copy = Path.Combine(dir.FullName, "lib.so");
            File.Copy(OutputNativeLibrary(), copy);
            // Undo the build's patch on the copy, so the test sees the library as shipped.
            var entry = ElfVersionNeedPatcher.ReadVersionNeeds(copy).Single(n => n.Version == "GLIBCXX_3.4.32");
            Assert.Equal(new[] { "_ZSt21ios_base_library_initv" }, entry.Symbols);
            var bytes = File.ReadAllBytes(copy);
            ushort shipped = (ushort)(entry.Flags & ~ElfVersionNeed.WeakFlag);
            bytes[entry.FlagsOffset] = (byte)shipped;
            bytes[entry.FlagsOffset + 1] = (byte)(shipped >> 8);
            File.WriteAllBytes(copy, bytes);
            // A host like Debian 12: every libstdc++ version up to 3.4.30 (the real host's list, minus 3.4.31+).
            var hostWithout = ElfVersionNeedPatcher.ReadVersionDefinitions(ElfVersionNeedPatcher.FindHostLibStdCxx()!)
                .Where(v => v is not ("GLIBCXX_3.4.31" or "GLIBCXX_3.4.32" or "GLIBCXX_3.4.33")).ToHashSet();

            var before = ElfVersionNeedPatcher.ReadVersionNeeds(copy);
            Assert.Equal(1, ElfVersionNeedPatcher.WeakenMissingMarkerVersions(copy, hostWithout).Count(v => v == "GLIBCXX_3.4.32"));
            var after = ElfVersionNeedPatcher.ReadVersionNeeds(copy);
            Assert.True(after.Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);
            // Every other entry is untouched.
            Assert.Equal(before.Where(n => n.Version != "GLIBCXX_3.4.32").Select(n => (n.Version, n.Flags)),
                         after.Where(n => n.Version != "GLIBCXX_3.4.32").Select(n => (n.Version, n.Flags)));
            // Idempotent: a second run changes nothing, and a host that has the version needs no patch.
            Assert.DoesNotContain("GLIBCXX_3.4.32", ElfVersionNeedPatcher.WeakenMissingMarkerVersions(copy, hostWithout));
            Assert.False(File.Exists(copy + ".patching"));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Patch_refuses_a_missing_version_that_carries_real_symbols()
    {
        if (!OperatingSystem.IsLinux()) return;
        var dir = Directory.CreateTempSubdirectory("elfpatch");
        try
        {
            var copy = Path.Combine(dir.FullName, "lib.so");
            File.Copy(OutputNativeLibrary(), copy);
            // Pretend the host lacks every libstdc++ version: real symbols (e.g. operator new) are then bound to missing versions.
            var e = Assert.Throws<InvalidOperationException>(() => ElfVersionNeedPatcher.WeakenMissingMarkerVersions(copy, new HashSet<string>()));
            Assert.Contains("cannot be fixed", e.Message);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Not_an_elf_file_is_reported_with_its_path()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "hello");
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(path));
        Assert.Contains(path, e.Message);
        File.Delete(path);
    }
}
