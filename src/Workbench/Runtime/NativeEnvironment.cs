using System.Runtime.InteropServices;

namespace Workbench.Runtime;

/// <summary>
/// Environment variables that native libraries read when they load. .NET keeps its own copy of the
/// environment on Unix (<see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach the
/// C library's <c>environ</c>), so a setting meant for libtorch or OpenMP goes through libc's setenv, before
/// those libraries load.
/// </summary>
public static class NativeEnvironment
{
    [DllImport("libc", EntryPoint = "setenv", SetLastError = true)]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    /// <summary>
    /// Sets <paramref name="name"/> for native code unless the user set it (then theirs stays); the managed copy too,
    /// so child processes and <see cref="Environment.GetEnvironmentVariable(string)"/> agree. True when set here.
    /// </summary>
    public static bool SetDefault(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is not null || Get(name) is not null) return false;
        Environment.SetEnvironmentVariable(name, value);
        if (OperatingSystem.IsWindows()) return true; // one environment there
        try { return SetEnv(name, value, 0) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>The value native code sees (libc's getenv), or null.</summary>
    public static string? Get(string name)
    {
        if (OperatingSystem.IsWindows()) return Environment.GetEnvironmentVariable(name);
        try { var p = GetEnv(name); return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }
}
