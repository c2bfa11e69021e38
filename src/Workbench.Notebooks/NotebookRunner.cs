using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.Data.Analysis;
using Workbench.Notebooks.Shim;
using Workbench.Runtime;

namespace Workbench.Notebooks;

/// <summary>How to run notebooks: quick or full, parameter overrides, where to write outputs.</summary>
public sealed record RunOptions
{
    public bool Quick { get; init; } = true;
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    public string OutputDirectory { get; init; } = "artifacts/notebooks";
    public IProgressSink Progress { get; init; } = NullProgress.Instance;
}

/// <summary>A failing cell: where and why.</summary>
public sealed record CellFailure(int CellNumber, string FirstLine, string Message);

/// <summary>The outcome of one notebook run.</summary>
public sealed record NotebookRun(string Notebook, string ExecutedNotebook, string Report, TimeSpan Duration, CellFailure? Failure,
    IReadOnlyList<(string Claim, bool Holds)> Claims)
{
    public bool Passed => Failure is null;
    public string Describe() => Failure is null
        ? $"{System.IO.Path.GetFileName(Notebook)}: passed in {Duration.TotalSeconds:F1} s"
        : $"{System.IO.Path.GetFileName(Notebook)}: cell {Failure.CellNumber} (`{Failure.FirstLine}`) failed: {Failure.Message}";
}

/// <summary>
/// Runs C# notebooks headlessly as the .NET Interactive C# kernel does: Roslyn scripting
/// (<c>CSharpScript.RunAsync</c>, then <c>ContinueWithAsync</c> per cell), state shared across cells,
/// the last expression's value as the cell's result, <c>display</c>/<c>Display</c> from a shim.
/// Writes the executed .ipynb and a standalone HTML report, both with provenance.
/// </summary>
public sealed class NotebookRunner
{
    /// <summary>Packages this runner carries: `#r "nuget: Id, Version"` of these binds to the loaded assembly.</summary>
    public static readonly IReadOnlyDictionary<string, (string Version, string Assembly)> CarriedPackages = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
    {
        ["TorchSharp-cpu"] = ("0.107.0", "TorchSharp"),
        ["TorchSharp"] = ("0.107.0", "TorchSharp"),
        ["Plotly.NET"] = ("6.0.0", "Plotly.NET"),
        ["Plotly.NET.CSharp"] = ("0.14.0", "Plotly.NET.CSharp"),
        ["Microsoft.Data.Analysis"] = ("0.23.1", "Microsoft.Data.Analysis"),
    };

    static readonly string[] DefaultImports =
    {
        "System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Text", "System.Threading.Tasks", "Workbench.Notebooks.Shim",
    };

    public NotebookRun Run(string path, RunOptions options)
    {
        var clock = Stopwatch.StartNew();
        var started = DateTimeOffset.Now;
        NotebookDocument doc;
        try { doc = NotebookDocument.Load(path); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            return new NotebookRun(path, "", "", clock.Elapsed, new CellFailure(0, "(notebook)", e.Message), []);
        }
        Directory.CreateDirectory(options.OutputDirectory);
        string stem = System.IO.Path.GetFileNameWithoutExtension(path);
        string executed = System.IO.Path.Combine(options.OutputDirectory, stem + ".ipynb");
        string report = System.IO.Path.Combine(options.OutputDirectory, stem + ".html");
        var provenance = Provenance.Collect(options, started);

        CellFailure? failure = null;
        var claims = new List<(string, bool)>();
        if (!doc.Cells.Any(c => c.Kind == CellKind.Code))
            failure = new CellFailure(0, "(notebook)", $"Notebook '{path}' has no code cells.");
        ScriptState<object>? state = null;
        var globals = new KernelGlobals();
        var scriptOptions = ScriptOptions.Default
            .WithImports(DefaultImports)
            .WithReferences(typeof(KernelGlobals).Assembly, typeof(TorchRuntime).Assembly, typeof(DataFrame).Assembly,
                typeof(Microsoft.DotNet.Interactive.Formatting.Formatter).Assembly)
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(System.IO.Path.GetDirectoryName(doc.Path)!))
            .WithSourceResolver(ScriptSourceResolver.Default.WithBaseDirectory(System.IO.Path.GetDirectoryName(doc.Path)!))
            .WithFilePath(doc.Path)
            .WithEmitDebugInformation(false);

        var code = doc.Cells.Where(c => c.Kind == CellKind.Code).ToList();
        int executionCount = 0;
        using var task = options.Progress.Start(System.IO.Path.GetFileName(path), code.Count);
        for (int i = 0; i < doc.Cells.Count && failure is null; i++)
        {
            var cell = doc.Cells[i];
            cell.Outputs.Clear();
            if (cell.Kind != CellKind.Code) continue;
            int number = i + 1;
            task.Report(executionCount, $"cell {number}: {cell.FirstLine}");
            var cellClock = Stopwatch.StartNew();
            try
            {
                var source = Preprocess(cell, number, System.IO.Path.GetDirectoryName(doc.Path)!, out bool isMarkdown);
                if (isMarkdown) { cell.Kind = CellKind.Markdown; cell.Source = source; continue; }
                cell.ExecutionCount = ++executionCount;
                if (cell.IsParameters) source += "\n" + ParameterAssignments(options);
                KernelGlobals.Current = new CellOutputSink();
                var stdout = new StringWriter();
                var previous = Console.Out;
                // A long cell's own progress lines also reach the runner's progress display, so a headless
                // run shows more than "cell 4" for the half hour an experiment takes.
                Console.SetOut(new LineEchoWriter(stdout, line => task.Report(executionCount - 1, $"cell {number}: {line}")));
                try
                {
                    state = state is null
                        ? CSharpScript.RunAsync(source, scriptOptions, globals, typeof(KernelGlobals)).GetAwaiter().GetResult()
                        : state.ContinueWithAsync(source, scriptOptions).GetAwaiter().GetResult();
                }
                finally { Console.SetOut(previous); }
                if (stdout.ToString().Length > 0) cell.Outputs.Add(new CellOutput("stream", new Dictionary<string, string>(), stdout.ToString()));
                foreach (var value in KernelGlobals.Current.Values) AddDisplay(cell, value, "display_data", null, claims);
                if (state.Exception is not null) throw state.Exception;
                if (state.ReturnValue is not null && ReturnsValue(source)) AddDisplay(cell, state.ReturnValue, "execute_result", cell.ExecutionCount, claims);
            }
            catch (CompilationErrorException e)
            {
                failure = Fail(cell, number, string.Join("; ", e.Diagnostics.Take(3).Select(d => d.ToString())));
            }
            catch (NotebookException e) { failure = Fail(cell, number, e.Message); }
            catch (Exception e)
            {
                var inner = e is AggregateException or TargetInvocationException && e.InnerException is not null ? e.InnerException : e;
                failure = Fail(cell, number, $"{inner.GetType().Name}: {inner.Message}");
            }
            cell.Duration = cellClock.Elapsed;
            task.Report(executionCount);
        }
        provenance["duration_seconds"] = clock.Elapsed.TotalSeconds;
        provenance["passed"] = failure is null;
        provenance["cells"] = new JsonArray(doc.Cells.Select((c, i) => (JsonNode)new JsonObject
        {
            ["cell"] = i + 1, ["seconds"] = c.Duration?.TotalSeconds ?? 0,
        }).ToArray());
        doc.Metadata["workbench"] = provenance;
        File.WriteAllText(executed, doc.ToJson());
        File.WriteAllText(report, HtmlReport.Render(doc, provenance, failure));
        return new NotebookRun(path, executed, report, clock.Elapsed, failure, claims);
    }

    static CellFailure Fail(NotebookCell cell, int number, string message)
    {
        cell.Outputs.Add(new CellOutput("error", new Dictionary<string, string>(), ErrorName: "Error", ErrorValue: message));
        return new CellFailure(number, cell.FirstLine, message);
    }

    static void AddDisplay(NotebookCell cell, object? value, string type, int? count, List<(string, bool)> claims)
    {
        cell.Outputs.Add(new CellOutput(type, MimeBundles.For(value), ExecutionCount: count));
        // A claims table: a DataFrame with a boolean "holds" column (and a "claim" column).
        if (value is DataFrame frame && frame.Columns.Any(c => c.Name == "holds" && c.DataType == typeof(bool)))
            for (long r = 0; r < frame.Rows.Count; r++)
                claims.Add((frame.Columns.Any(c => c.Name == "claim") ? frame["claim"][r]?.ToString() ?? "" : $"row {r + 1}", frame["holds"][r] is true));
    }

    /// <summary>True when the cell ends with an expression (no semicolon): the kernel shows its value.</summary>
    static bool ReturnsValue(string source)
    {
        var last = source.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0 && !l.StartsWith("//"));
        return last is not null && !last.EndsWith(';') && !last.EndsWith('}') && !last.StartsWith('#');
    }

    static readonly Regex NugetReference = new(@"^#r\s+""nuget:\s*([^,""]+?)\s*(?:,\s*([^""]+?))?\s*""\s*$");
    static readonly Regex PathReference = new(@"^#r\s+""([^""]+)""\s*$");

    /// <summary>Cell magics and references: `#!csharp`/`#!markdown` allowed, other magics refused by name;
    /// `#r` of carried NuGet packages and of assemblies the host already loaded bind to the loaded ones
    /// (one TorchSharp, one libtorch per process).</summary>
    static string Preprocess(NotebookCell cell, int number, string baseDirectory, out bool isMarkdown)
    {
        isMarkdown = false;
        var lines = cell.Source.Replace("\r\n", "\n").Split('\n').ToList();
        var output = new List<string>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith("#!", StringComparison.Ordinal))
            {
                if (line is "#!csharp" or "#!c#" or "#!C#") { output.Add(""); continue; }
                if (line == "#!markdown") { isMarkdown = true; continue; }
                throw new NotebookException($"unknown magic command '{line.Split(' ')[0]}' (the runner knows #!csharp and #!markdown)");
            }
            if (NugetReference.Match(line) is { Success: true } nuget)
            {
                var id = nuget.Groups[1].Value;
                var version = nuget.Groups[2].Success ? nuget.Groups[2].Value : null;
                if (!CarriedPackages.TryGetValue(id, out var carried) || (version is not null && version != carried.Version))
                    throw new NotebookException($"#r \"nuget: {id}{(version is null ? "" : ", " + version)}\": the runner carries only {string.Join(", ", CarriedPackages.Select(p => $"{p.Key} {p.Value.Version}"))}");
                output.Add($"#r \"{HostCopyOf(carried.Assembly) ?? throw new NotebookException($"the runner cannot load its own copy of {carried.Assembly}")}\"");
                continue;
            }
            if (PathReference.Match(line) is { Success: true } reference && !line.Contains("nuget:"))
            {
                var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, reference.Groups[1].Value));
                if (!File.Exists(full))
                    throw new NotebookException($"#r path not found: '{reference.Groups[1].Value}' (resolved to '{full}'). Build first: `dotnet build -c Release`.");
                output.Add($"#r \"{HostCopyOf(System.IO.Path.GetFileNameWithoutExtension(full)) ?? full}\"");
                continue;
            }
            output.Add(raw);
        }
        return string.Join("\n", output);
    }

    /// <summary>The path of the host's own copy of assembly <paramref name="name"/> (already loaded, or loadable from the
    /// host's folder), so the script and the host share one TorchSharp and one libtorch; null when the host has none.</summary>
    static string? HostCopyOf(string name)
    {
        var loaded = AppDomain.CurrentDomain.GetAssemblies()
            .FirstOrDefault(a => !a.IsDynamic && string.Equals(a.GetName().Name, name, StringComparison.OrdinalIgnoreCase));
        if (loaded is not null) return loaded.Location;
        try { return Assembly.Load(new AssemblyName(name)).Location; }
        catch (FileNotFoundException) { return null; }
    }

    /// <summary>Assignments appended to the parameters cell: Quick, then every --param (papermill's convention).</summary>
    static string ParameterAssignments(RunOptions options)
    {
        var lines = new List<string> { $"Quick = {(options.Quick ? "true" : "false")};" };
        foreach (var (name, value) in options.Parameters)
        {
            if (!Regex.IsMatch(name, @"^[A-Za-z_][A-Za-z0-9_]*$")) throw new NotebookException($"parameter name '{name}' is not a C# identifier");
            lines.Add($"{name} = {Literal(value)};");
        }
        return string.Join("\n", lines);
    }

    static string Literal(string value) =>
        bool.TryParse(value, out var b) ? (b ? "true" : "false")
        : int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i.ToString(CultureInfo.InvariantCulture)
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d.ToString("R", CultureInfo.InvariantCulture)
        : "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

/// <summary>A problem with a notebook itself (magic, reference, parameter), reported with its cell.</summary>
public sealed class NotebookException(string message) : Exception(message);

/// <summary>Writes through to <paramref name="inner"/> and hands each completed non-empty line to <paramref name="onLine"/>.</summary>
sealed class LineEchoWriter(TextWriter inner, Action<string> onLine) : TextWriter
{
    readonly System.Text.StringBuilder _line = new();
    bool _echoing; // a progress sink that itself writes to Console.Out must not echo back into itself
    public override System.Text.Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        inner.Write(value);
        if (_echoing) return;
        if (value == '\n') Flush();
        else if (value != '\r') _line.Append(value);
    }

    public override void Write(string? value)
    {
        if (value is null) return;
        foreach (char c in value) Write(c);
    }

    public override void Flush()
    {
        if (_line.Length == 0) return;
        string text = _line.ToString().Trim();
        _line.Clear();
        if (text.Length == 0) return;
        _echoing = true;
        try { onLine(text); } finally { _echoing = false; }
    }
}
