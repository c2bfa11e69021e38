using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Workbench.Runtime;

/// <summary>
/// The one way every cache writer (datasets, model weights, model-cache records) puts a file on disk:
/// the bytes go to a temporary file beside the target, which is then renamed over it, so a reader
/// sees the old file or the whole new one, never half of one. The temporary file is created
/// exclusively (O_CREAT|O_EXCL: fails if anything, a planted symlink included, is at that path, and
/// never follows one) under a name with a random part, and is deleted when the write fails (disk
/// full), so retries do not pile up partial files. Temporary files of writers that were killed are
/// removed by <see cref="CleanStale"/>.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Temporary files older than this are stale even when their pid is alive (the pid may be reused);
    /// no cache write takes anywhere near this long.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromHours(1);

    /// <summary>Writes <paramref name="path"/> atomically; <paramref name="write"/> fills the stream.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"'{full}' is a directory; a file is to be written there. Remove it or choose another path.");
        string tmp = TempPath(full);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            // CreateNew is O_CREAT|O_EXCL: it refuses an existing path and does not follow a symlink planted there.
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            // The runtime's message names the temporary file; the user needs the target and what to do.
            throw new IOException($"Could not write '{full}': {e.Message} Free disk space or fix the folder's permissions, then run again.", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    /// <summary>"&lt;file&gt;.&lt;pid&gt;.&lt;random&gt;.tmp": the pid lets <see cref="CleanStale"/> tell a live writer's file from a dead one's.</summary>
    public static string TempPath(string path) => $"{path}.{Environment.ProcessId}.{RandomTag()}.tmp";

    static string RandomTag() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 6));

    /// <summary>
    /// Creates a new, empty staging folder "&lt;prefix&gt;&lt;random&gt;-&lt;pid&gt;" in <paramref name="parent"/> for a
    /// multi-file download; fails if anything (a planted symlink included) is already at that path. The pid
    /// at the end lets <see cref="CleanStale"/> remove it when its process is gone.
    /// </summary>
    public static string CreateStagingDirectory(string parent, string prefix)
    {
        Directory.CreateDirectory(parent);
        string path = Path.Combine(parent, $"{prefix}{RandomTag()}-{Environment.ProcessId}");
        if (Path.Exists(path) || new FileInfo(path).LinkTarget is not null)
            throw new IOException($"'{path}' already exists; a staging folder must be new. Remove it and retry.");
        var created = Directory.CreateDirectory(path);
        if (created.LinkTarget is not null)
            throw new IOException($"'{path}' became a symlink while being created; refusing to stage files through it.");
        return path;
    }

    // <name>.<pid>.tmp (the older form) or <name>.<pid>.<hex>.tmp.
    [GeneratedRegex(@"\.(?<pid>\d+)(\.[0-9a-f]+)?\.tmp$")]
    private static partial Regex TempName();

    /// <summary>
    /// Deletes the temporary files (and, with <paramref name="stagingPrefix"/>, staging folders named
    /// "&lt;prefix&gt;...-&lt;pid&gt;") that writers left in <paramref name="directory"/> when they were killed:
    /// those whose process is gone, or older than <see cref="StaleAfter"/>. Symlinks are removed, not
    /// followed. Returns how many entries it removed. Best effort: an entry it cannot delete is skipped.
    /// </summary>
    public static int CleanStale(string directory, string? stagingPrefix = null)
    {
        if (!Directory.Exists(directory)) return 0;
        int removed = 0;
        IEnumerable<FileSystemInfo> entries;
        try { entries = new DirectoryInfo(directory).EnumerateFileSystemInfos().ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
        foreach (var entry in entries)
        {
            int? pid = null;
            if (entry is FileInfo || entry.LinkTarget is not null)
            {
                var m = TempName().Match(entry.Name);
                if (m.Success && int.TryParse(m.Groups["pid"].Value, out var p)) pid = p;
            }
            else if (stagingPrefix is not null && entry.Name.StartsWith(stagingPrefix, StringComparison.Ordinal)
                     && int.TryParse(entry.Name[(entry.Name.LastIndexOf('-') + 1)..], out var p))
                pid = p;
            if (pid is null) continue;
            bool stale = pid != Environment.ProcessId && !IsAlive(pid.Value)
                         || DateTime.UtcNow - entry.LastWriteTimeUtc > StaleAfter;
            if (!stale) continue;
            try
            {
                if (entry is DirectoryInfo d && entry.LinkTarget is null) d.Delete(recursive: true);
                else entry.Delete(); // a symlink: the link itself, never its target
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return removed;
    }

    static bool IsAlive(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Deletes a file if it can; for clean-up paths that must not mask the error being handled.</summary>
    public static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Fails now, with a message naming <paramref name="directory"/> and what to do, when files cannot be
    /// created there (missing and not creatable, a file in the way, read-only, full) — so that long work
    /// whose result goes there is not started only to be lost. Creates the folder; leaves nothing else behind.
    /// </summary>
    public static void EnsureWritableDirectory(string directory, string what)
    {
        var full = Path.GetFullPath(directory);
        try
        {
            // The nearest existing ancestor (or the folder itself) being a file makes the runtime say only "could not find a part of the path".
            for (var at = full; !string.IsNullOrEmpty(at) && !Directory.Exists(at); at = Path.GetDirectoryName(at))
                if (File.Exists(at)) throw new IOException($"a file is in the way ('{at}' is a file, not a folder).");
            Directory.CreateDirectory(full);
            string probe = TempPath(Path.Combine(full, ".write-probe"));
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{what} '{full}' is not writable: {e.Message} Fix its permissions or free space, or choose another folder.", e);
        }
    }

    /// <summary>
    /// Fails now when <paramref name="path"/> cannot receive a file by <see cref="Write"/>: it is a folder, or its
    /// folder is not writable (<see cref="EnsureWritableDirectory"/>). An existing file there is fine: it is replaced.
    /// </summary>
    public static void EnsureWritableFile(string path, string what)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"{what} '{full}' is a folder; give a file path (e.g. '{Path.Combine(full, "model.bin")}').");
        EnsureWritableDirectory(Path.GetDirectoryName(full)!, $"The folder of {what.ToLowerInvariant()}");
    }
}
