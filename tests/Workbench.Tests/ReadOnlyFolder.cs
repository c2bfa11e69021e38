using System.Diagnostics;

namespace Workbench.Tests;

/// <summary>
/// A folder nobody can write, not even root (the tests run as root here, and root ignores permission bits):
/// made immutable with `chattr +i` where the file system supports it, else read-only by mode. <see cref="IsReadOnly"/>
/// says whether that worked (it is checked by trying to create a file); tests skip their assertions when it did not.
/// </summary>
sealed class ReadOnlyFolder : IDisposable
{
    public string Path { get; }
    public bool IsReadOnly { get; }
    readonly bool _immutable;

    public ReadOnlyFolder(string path)
    {
        Path = path;
        Directory.CreateDirectory(path);
        _immutable = Run("chattr", "+i", path);
        if (!_immutable && !OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try { File.WriteAllText(System.IO.Path.Combine(path, ".probe"), ""); File.Delete(System.IO.Path.Combine(path, ".probe")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { IsReadOnly = true; }
    }

    static bool Run(string tool, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(tool) { RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var p = Process.Start(start)!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    public void Dispose()
    {
        if (_immutable) Run("chattr", "-i", Path);
        else if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
