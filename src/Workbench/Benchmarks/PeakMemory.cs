namespace Workbench.Benchmarks;

/// <summary>
/// Peak resident memory of this process on Linux: VmHWM from /proc/self/status, resettable by
/// writing 5 to /proc/self/clear_refs, so a phase's peak can be measured on its own.
/// </summary>
public static class PeakMemory
{
    public static bool Supported => File.Exists("/proc/self/status") && File.Exists("/proc/self/clear_refs");

    public static void Reset()
    {
        if (Supported) File.WriteAllText("/proc/self/clear_refs", "5");
    }

    /// <summary>Peak resident set since the last reset, in MB (NaN where unsupported).</summary>
    public static double PeakMegabytes() => Read("VmHWM:");

    public static double CurrentMegabytes() => Read("VmRSS:");

    static double Read(string key)
    {
        if (!Supported) return double.NaN;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(line[key.Length..].Trim().Split(' ')[0]) / 1024.0;
    }
}
