using System.Diagnostics;
using Workbench.Runtime;

namespace Workbench.Tests.Runtime;

public class ThreadPolicyTests
{
    [Theory]
    [InlineData(null, null, "PASSIVE")]
    [InlineData("", " ", "PASSIVE")]
    [InlineData("ACTIVE", null, null)]
    [InlineData(null, "1000", null)]
    public void The_users_wait_policy_or_spin_count_wins(string? policy, string? spin, string? expected) =>
        Assert.Equal(expected, ThreadPolicy.Decide(policy, spin));

    /// <summary>Runs `workbench info` in a fresh process (OpenMP initialises there) with OMP_DISPLAY_ENV=VERBOSE, which makes
    /// libgomp print the settings it actually uses; returns its stderr and stdout.</summary>
    static string InfoWithOpenMpSettings(params (string Name, string? Value)[] env)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"));
        start.ArgumentList.Add("info");
        start.Environment["OMP_DISPLAY_ENV"] = "VERBOSE";
        start.Environment.Remove("OMP_WAIT_POLICY");
        start.Environment.Remove("GOMP_SPINCOUNT");
        foreach (var (name, value) in env) start.Environment[name] = value;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "workbench info did not finish");
        Assert.Equal(0, p.ExitCode);
        return stderr.Result + stdout.Result;
    }

    // Threads under load (issue 19): libgomp must really run with the passive policy (spin count 0), i.e. the
    // variable reached the native environment before libtorch loaded, not just .NET's copy of it.
    [Fact]
    public void OpenMp_runs_with_the_passive_wait_policy_unless_the_user_chose()
    {
        var ours = InfoWithOpenMpSettings();
        Assert.Contains("GOMP_SPINCOUNT = '0'", ours);
        Assert.Contains("OMP_WAIT_POLICY=PASSIVE", ours);
        var users = InfoWithOpenMpSettings(("GOMP_SPINCOUNT", "1000"));
        Assert.Contains("GOMP_SPINCOUNT = '1000'", users);
        Assert.Contains("user's choice", users);
    }
}
