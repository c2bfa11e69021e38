using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Workbench.Notebooks;

/// <summary>What a shared report needs to say to be reproduced: versions, commit, parameters, machine, times.</summary>
public static class Provenance
{
    public static JsonObject Collect(RunOptions options, DateTimeOffset started)
    {
        var parameters = new JsonObject { ["Quick"] = options.Quick };
        foreach (var (k, v) in options.Parameters) parameters[k] = v;
        return new JsonObject
        {
            ["mode"] = options.Quick ? "quick" : "full",
            ["parameters"] = parameters,
            ["seed"] = options.Parameters.TryGetValue("Seed", out var seed) ? seed : "notebook default",
            ["git_commit"] = GitCommit(),
            ["versions"] = new JsonObject { ["dotnet-interactive"] = KernelClient.PinnedVersion }, // the kernel's own report replaces it
            ["machine"] = $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            ["started"] = started.ToString("u"),
            ["reproduce"] = $"./workbench notebook run <notebook> {(options.Quick ? "--quick" : "--full")}{string.Concat(options.Parameters.Select(p => $" --param {p.Key}={p.Value}"))}",
        };
    }

    static string GitCommit()
    {
        try
        {
            var p = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (p is null) return "unknown";
            var commit = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && commit.Length > 0 ? commit : "unknown";
        }
        catch (System.ComponentModel.Win32Exception) { return "unknown (git not installed)"; }
    }
}
