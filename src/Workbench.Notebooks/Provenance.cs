using System.Text.Json.Nodes;

namespace Workbench.Notebooks;

/// <summary>What a shared report needs to say to be reproduced: versions, commit, parameters, machine, times.</summary>
public static class Provenance
{
    /// <summary>The run's provenance. Parameters are the values the run used: the notebook's declared defaults, overridden
    /// by the run's options; the command reruns exactly this run.</summary>
    public static JsonObject Collect(RunOptions options, DateTimeOffset started, string notebookPath, IReadOnlyDictionary<string, NotebookParameter> declared)
    {
        var parameters = new JsonObject();
        foreach (var p in declared.Values) parameters[p.Name] = p.Default;
        parameters["Quick"] = options.Quick ? "true" : "false";
        foreach (var (k, v) in options.Parameters) parameters[k] = v;
        string relative = System.IO.Path.GetRelativePath(Environment.CurrentDirectory, notebookPath);
        string shown = relative.StartsWith("..", StringComparison.Ordinal) ? notebookPath : relative;
        return new JsonObject
        {
            ["mode"] = options.Quick ? "quick" : "full",
            ["parameters"] = parameters,
            ["seed"] = parameters["Seed"]?.DeepClone() ?? "not a parameter of this notebook",
            ["git_commit"] = GitCommit(),
            ["versions"] = new JsonObject { ["dotnet-interactive"] = KernelClient.PinnedVersion }, // the kernel's own report replaces it
            ["machine"] = $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            ["started"] = started.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
            ["reproduce"] = $"./workbench notebook run {Quote(shown)} {(options.Quick ? "--quick" : "--full")}{string.Concat(options.Parameters.Select(p => $" --param {Quote($"{p.Key}={p.Value}")}"))}",
        };
    }

    /// <summary>Single-quoted for a POSIX shell when it holds anything but safe characters.</summary>
    static string Quote(string text) => System.Text.RegularExpressions.Regex.IsMatch(text, @"^[A-Za-z0-9_./=:+-]+$") ? text : $"'{text.Replace("'", "'\\''")}'";

    internal static string GitCommit() => Workbench.Runtime.GitInfo.Head();
}
