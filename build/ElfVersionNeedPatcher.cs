// One file, two uses: the Workbench library compiles it (WORKBENCH_LIBRARY) so tests and the runtime
// diagnostics can read ELF version tables, and MSBuild compiles it as an inline task
// (RoslynCodeTaskFactory, see TorchSharpNativeFix.targets) that patches the native TorchSharp
// library in a build output.
//
// Why: TorchSharp 0.107's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32, which older
// libstdc++ (Debian 12 stops at 3.4.30) does not define, so the dynamic loader refuses the file.
// The only symbol bound to that version is `_ZSt21ios_base_library_initv`, a link-time marker
// that no relocation references. Marking that one version-need entry weak (VER_FLG_WEAK in
// .gnu.version_r) turns the hard error into nothing at all. We patch only when the host's
// libstdc++ lacks the version, only versions whose every bound symbol is a known marker, and only
// the copy in the build output (never the NuGet cache), atomically and idempotently.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

#if WORKBENCH_LIBRARY
namespace Workbench.Runtime
#else
namespace WorkbenchBuild
#endif
{
    /// <summary>One entry of an ELF file's .gnu.version_r (a version its dynamic loader must find).</summary>
    /// (A class, not a record: MSBuild compiles this file against netstandard, which lacks init accessors.)
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string version, ushort flags, ushort index, long flagsOffset, IReadOnlyList<string> symbols)
        {
            File = file; Version = version; Flags = flags; Index = index; FlagsOffset = flagsOffset; Symbols = symbols;
        }
        public string File { get; }
        public string Version { get; }
        public ushort Flags { get; }
        public ushort Index { get; }
        public long FlagsOffset { get; }
        public IReadOnlyList<string> Symbols { get; }
        public const ushort WeakFlag = 0x2; // VER_FLG_WEAK
        public bool IsWeak => (Flags & WeakFlag) != 0;
    }

    /// <summary>Reads and patches the GNU symbol-versioning tables of 64-bit little-endian ELF files.</summary>
    public static class ElfVersionNeedPatcher
    {
        const uint ShtDynsym = 11, ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

        /// <summary>Symbols that are pure link-time markers: binding them to a missing version is harmless.</summary>
        public static readonly IReadOnlyCollection<string> MarkerSymbols = new[] { "_ZSt21ios_base_library_initv" };

        sealed class Section
        {
            public Section(uint type, long offset, long size, uint link, long entSize) { Type = type; Offset = offset; Size = size; Link = link; EntSize = entSize; }
            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public long EntSize { get; }
        }

        static List<Section> ReadSections(byte[] elf, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"'{path}' is not an ELF file.");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"'{path}' is not a 64-bit little-endian ELF file (class {elf[4]}, data {elf[5]}).");
            long shoff = BitConverter.ToInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
            if (shoff <= 0 || shoff + (long)shentsize * shnum > elf.Length)
                throw new InvalidDataException($"'{path}' has a section header table outside the file (truncated?).");
            var sections = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long b = shoff + (long)i * shentsize;
                sections.Add(new Section(BitConverter.ToUInt32(elf, (int)b + 4), BitConverter.ToInt64(elf, (int)b + 0x18),
                    BitConverter.ToInt64(elf, (int)b + 0x20), BitConverter.ToUInt32(elf, (int)b + 0x28), BitConverter.ToInt64(elf, (int)b + 0x38)));
            }
            return sections;
        }

        static string ReadString(byte[] elf, Section strtab, uint offset)
        {
            long start = strtab.Offset + offset, end = start;
            while (end < elf.Length && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        /// <summary>The version-need entries of an ELF file, each with the dynamic symbols bound to it.</summary>
        public static IReadOnlyList<ElfVersionNeed> ReadVersionNeeds(string path) => ReadVersionNeeds(File.ReadAllBytes(path), path);

        public static IReadOnlyList<ElfVersionNeed> ReadVersionNeeds(byte[] elf, string path)
        {
            var sections = ReadSections(elf, path);
            var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
            if (verneed is null) return Array.Empty<ElfVersionNeed>();
            var strtab = sections[(int)verneed.Link];

            // Which dynamic symbols use which version index (.gnu.version is parallel to .dynsym).
            var symbolsByIndex = new Dictionary<ushort, List<string>>();
            var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            if (dynsym is not null && versym is not null && dynsym.EntSize > 0)
            {
                var symstr = sections[(int)dynsym.Link];
                long count = dynsym.Size / dynsym.EntSize;
                for (long i = 0; i < count; i++)
                {
                    ushort idx = (ushort)(BitConverter.ToUInt16(elf, (int)(versym.Offset + 2 * i)) & 0x7fff);
                    if (idx < 2) continue;
                    uint nameOff = BitConverter.ToUInt32(elf, (int)(dynsym.Offset + i * dynsym.EntSize));
                    if (!symbolsByIndex.TryGetValue(idx, out var list)) symbolsByIndex[idx] = list = new List<string>();
                    list.Add(ReadString(elf, symstr, nameOff));
                }
            }

            var result = new List<ElfVersionNeed>();
            long need = verneed.Offset;
            while (true)
            {
                ushort cnt = BitConverter.ToUInt16(elf, (int)need + 2);
                string file = ReadString(elf, strtab, BitConverter.ToUInt32(elf, (int)need + 4));
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < cnt; a++)
                {
                    ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4), other = BitConverter.ToUInt16(elf, (int)aux + 6);
                    string name = ReadString(elf, strtab, BitConverter.ToUInt32(elf, (int)aux + 8));
                    result.Add(new ElfVersionNeed(file, name, flags, other, aux + 4,
                        symbolsByIndex.TryGetValue(other, out var syms) ? syms : (IReadOnlyList<string>)Array.Empty<string>()));
                    uint nextAux = BitConverter.ToUInt32(elf, (int)aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = BitConverter.ToUInt32(elf, (int)need + 12);
                if (next == 0) break;
                need += next;
            }
            return result;
        }

        /// <summary>The version names an ELF shared library defines (.gnu.version_d), e.g. GLIBCXX_3.4.30.</summary>
        public static IReadOnlyCollection<string> ReadVersionDefinitions(string path)
        {
            var elf = File.ReadAllBytes(path);
            var sections = ReadSections(elf, path);
            var verdef = sections.FirstOrDefault(s => s.Type == ShtGnuVerdef);
            var names = new HashSet<string>();
            if (verdef is null) return names;
            var strtab = sections[(int)verdef.Link];
            long def = verdef.Offset;
            while (true)
            {
                long aux = def + BitConverter.ToUInt32(elf, (int)def + 12);
                names.Add(ReadString(elf, strtab, BitConverter.ToUInt32(elf, (int)aux)));
                uint next = BitConverter.ToUInt32(elf, (int)def + 16);
                if (next == 0) break;
                def += next;
            }
            return names;
        }

        /// <summary>The host's libstdc++.so.6 as the dynamic loader would find it, or null when there is none.</summary>
        public static string? FindHostLibStdCxx()
        {
            string[] dirs = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" };
            var fromEnv = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries);
            return fromEnv.Concat(dirs).Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        }

        /// <summary>
        /// Marks weak every libstdc++ version need of <paramref name="path"/> that <paramref name="hostVersions"/>
        /// lacks and that only marker symbols use. Returns what it changed; writes through a temp file and a rename.
        /// Throws when a missing version carries a real symbol: weakening it would only move the failure to run time.
        /// </summary>
        public static IReadOnlyList<string> WeakenMissingMarkerVersions(string path, IReadOnlyCollection<string> hostVersions)
        {
            var elf = File.ReadAllBytes(path);
            var changed = new List<string>();
            foreach (var need in ReadVersionNeeds(elf, path))
            {
                if (!need.File.StartsWith("libstdc++", StringComparison.Ordinal) || hostVersions.Contains(need.Version) || need.IsWeak) continue;
                var real = need.Symbols.Where(s => !MarkerSymbols.Contains(s)).ToList();
                if (real.Count > 0)
                    throw new InvalidOperationException(
                        $"'{path}' needs {need.Version} from {need.File}, which this host's libstdc++ lacks, for the symbol(s) {string.Join(", ", real)}; " +
                        "that cannot be fixed by marking the version weak. Install a newer libstdc++ or use an older TorchSharp.");
                ushort flags = (ushort)(need.Flags | ElfVersionNeed.WeakFlag);
                elf[need.FlagsOffset] = (byte)(flags & 0xff);
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed.Add(need.Version);
            }
            if (changed.Count > 0)
            {
                string tmp = path + ".patching";
                File.WriteAllBytes(tmp, elf);
                File.Replace(tmp, path, null); // rename(2): readers see the old or the new file, never half of one
            }
            return changed;
        }
    }

#if !WORKBENCH_LIBRARY
    /// <summary>The MSBuild face of the patcher (see TorchSharpNativeFix.targets).</summary>
    public sealed class WeakenMissingLibStdCxxVersions : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string[] Files { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
            var host = ElfVersionNeedPatcher.FindHostLibStdCxx();
            if (host is null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "TorchSharp native fix: no libstdc++.so.6 found on this host; nothing to do.");
                return true;
            }
            var hostVersions = ElfVersionNeedPatcher.ReadVersionDefinitions(host);
            foreach (var file in Files.Where(File.Exists))
            {
                try
                {
                    var changed = ElfVersionNeedPatcher.WeakenMissingMarkerVersions(file, hostVersions);
                    if (changed.Count > 0)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            $"TorchSharp native fix: marked {string.Join(", ", changed)} weak in {file} (host {host} lacks it).");
                }
                catch (Exception e) when (e is InvalidOperationException || e is InvalidDataException || e is IOException)
                {
                    Log.LogError($"TorchSharp native fix: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
