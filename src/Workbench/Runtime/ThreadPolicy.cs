namespace Workbench.Runtime;

/// <summary>
/// How libtorch's OpenMP threads wait, chosen so that training degrades gracefully on a busy machine.
/// <para>
/// libtorch (CPU) runs its intra-op work in GNU OpenMP parallel regions. By default a thread that
/// reaches the end of a region spins for a while before sleeping, waiting for the others. When the
/// machine has fewer free cores than threads, a spinning thread burns the time slice the thread it
/// waits for needs. Measured on the 2-core reference machine shared with other jobs (200 training steps of the
/// small CNN, `workbench bench train`): 2 threads took 44-224 s with OpenMP's default spinning and 6-11 s with
/// OMP_WAIT_POLICY=PASSIVE, about what 1 thread took (7-20 s); docs/reliability.md has the table. Whether
/// PASSIVE costs anything on an idle machine could not be measured there (it was never idle); on a machine
/// of your own, OMP_WAIT_POLICY=ACTIVE restores spinning. So the default here is
/// PASSIVE: threads sleep at once instead of spinning.
/// </para>
/// <para>
/// The thread count itself stays what the caller sets (all cores by default): a count that followed the
/// load average would make results depend on what else ran (reductions are split per thread), and
/// bitwise determinism needs the same count (README, Determinism).
/// </para>
/// OpenMP reads its environment once, when the native library initialises, so <see cref="ApplyBeforeNativeLoad"/>
/// must run before libtorch loads (first thing in <see cref="TorchRuntime.EnsureLoaded"/>). A value the user set
/// (OMP_WAIT_POLICY or GOMP_SPINCOUNT) wins.
/// </summary>
public static class ThreadPolicy
{
    /// <summary>The wait policy this process asks OpenMP for when the user set none.</summary>
    public const string DefaultWaitPolicy = "PASSIVE";

    /// <summary>What <see cref="ApplyBeforeNativeLoad"/> did, for provenance and `workbench info`.</summary>
    public static string Status { get; private set; } = "not applied";

    static readonly object Gate = new();
    static bool _applied;

    /// <summary>
    /// Sets OMP_WAIT_POLICY=PASSIVE in the process's native environment unless the user chose a wait policy
    /// or spin count, or OpenMP has already initialised (then it says so in <see cref="Status"/>). Idempotent;
    /// never throws (a failure only leaves OpenMP's default).
    /// </summary>
    public static void ApplyBeforeNativeLoad()
    {
        lock (Gate)
        {
            if (_applied) return;
            _applied = true;
            var decision = Decide(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), Environment.GetEnvironmentVariable("GOMP_SPINCOUNT"));
            if (decision is null)
            {
                Status = $"user's choice (OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "unset"}, GOMP_SPINCOUNT={Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? "unset"})";
                return;
            }
            if (OpenMpLoaded())
            {
                Status = "OpenMP already initialised before the policy could be set: its default wait policy applies";
                return;
            }
            Status = NativeEnvironment.SetDefault("OMP_WAIT_POLICY", decision) ? $"OMP_WAIT_POLICY={decision}" : "could not set OMP_WAIT_POLICY: OpenMP's default applies";
        }
    }

    /// <summary>The wait policy to set given the user's OMP_WAIT_POLICY and GOMP_SPINCOUNT, or null to leave the user's choice.</summary>
    public static string? Decide(string? userWaitPolicy, string? userSpinCount) =>
        string.IsNullOrWhiteSpace(userWaitPolicy) && string.IsNullOrWhiteSpace(userSpinCount) ? DefaultWaitPolicy : null;

    /// <summary>True when an OpenMP runtime is already mapped into the process (Linux: /proc/self/maps).</summary>
    static bool OpenMpLoaded()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return File.ReadLines("/proc/self/maps").Any(l => l.Contains("libgomp", StringComparison.Ordinal) || l.Contains("libiomp", StringComparison.Ordinal)); }
        catch (IOException) { return false; }
    }
}
