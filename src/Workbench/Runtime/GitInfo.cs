using System.Diagnostics;
using System.Reflection;

namespace Workbench.Runtime;

/// <summary>The commit a run comes from, for provenance records (notebook reports, sweep markers).</summary>
public static class GitInfo
{
    /// <summary>The working folder's HEAD (<c>git rev-parse</c>), or "unknown" when git or a repository is missing.</summary>
    public static string Head(bool shortForm = true)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("git", shortForm ? "rev-parse --short HEAD" : "rev-parse HEAD")
                { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (p is null) return "unknown";
            var commit = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && commit.Length > 0 ? commit : "unknown";
        }
        catch (System.ComponentModel.Win32Exception) { return "unknown (git not installed)"; }
    }

    /// <summary>The commit the workbench library was built from (its informational version's "+commit"), else <see cref="Head"/>:
    /// a task on a cluster node may run outside any checkout.</summary>
    public static string BuildCommit()
    {
        var informational = typeof(GitInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        return informational.IndexOf('+') is var plus and >= 0 ? informational[(plus + 1)..] : Head(shortForm: false);
    }
}
