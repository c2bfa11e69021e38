using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Workbench.Runtime;

namespace Workbench.Notebooks;

/// <summary>How to run notebooks: quick or full, parameter overrides, where to write outputs, how long a cell may take.</summary>
public sealed record RunOptions
{
    public bool Quick { get; init; } = true;
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    public string OutputDirectory { get; init; } = "artifacts/notebooks";
    /// <summary>File name (without extension) of the executed notebook and report; the notebook's own name by default.</summary>
    public string? OutputName { get; init; }
    public IProgressSink Progress { get; init; } = NullProgress.Instance;
    /// <summary>A cell running longer is stopped (the kernel is killed) and reported as failed.</summary>
    public TimeSpan CellTimeout { get; init; } = TimeSpan.FromHours(2);
}

/// <summary>A scorecard as a notebook displayed it: column names (method, ranks, overall rank) and the rows as text.</summary>
public sealed record ScorecardTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>The rows ordered by their overall rank (rows whose rank does not parse last, in their order).</summary>
    public IEnumerable<IReadOnlyList<string>> Ranked()
    {
        int at = Columns.ToList().IndexOf("overall_rank");
        return at < 0 ? Rows : Rows.OrderBy(r => int.TryParse(r[at], out var k) ? k : int.MaxValue);
    }

    /// <summary>Same columns and cells: a notebook that displays one scorecard twice lists it once.</summary>
    public bool SameAs(ScorecardTable other) =>
        Columns.SequenceEqual(other.Columns) && Rows.Count == other.Rows.Count && Rows.Zip(other.Rows).All(p => p.First.SequenceEqual(p.Second));
}

/// <summary>A failing cell: where and why.</summary>
public sealed record CellFailure(int CellNumber, string FirstLine, string Message);

/// <summary>The outcome of one notebook run.</summary>
public sealed record NotebookRun(string Notebook, string ExecutedNotebook, string Report, TimeSpan Duration, CellFailure? Failure,
    IReadOnlyList<(string Claim, bool Holds)> Claims, IReadOnlyList<ScorecardTable>? Scorecards = null)
{
    public bool Passed => Failure is null;
    /// <summary>The distinct scorecards the notebook displayed, in order (none when it shows no scorecard).</summary>
    public IReadOnlyList<ScorecardTable> ScorecardTables => Scorecards ?? [];
    public string Describe() => Failure switch
    {
        null => $"{System.IO.Path.GetFileName(Notebook)}: passed in {Duration.TotalSeconds:F1} s",
        { CellNumber: 0 } => $"{System.IO.Path.GetFileName(Notebook)}: {Failure.Message}", // the notebook or the kernel, not a cell
        _ => $"{System.IO.Path.GetFileName(Notebook)}: cell {Failure.CellNumber} (`{Failure.FirstLine}`) failed: {Failure.Message}",
    };
}

/// <summary>
/// Runs notebooks headlessly on the released .NET Interactive kernel, started and driven as VS Code does
/// (<see cref="KernelClient"/>): each code cell is one SubmitCode to the kernel named by the cell's metadata,
/// in order; the kernel's events become the cell's nbformat outputs. What the runner adds: parameters
/// (papermill's convention: assignments appended to the cell tagged <c>parameters</c>), a per-cell timeout,
/// the executed .ipynb written after every cell (a killed run keeps what ran), a standalone HTML report with
/// provenance, progress, the failing cell's message, and the claims tables' verdicts.
/// </summary>
public sealed class NotebookRunner
{
    /// <summary>Largest text kept from one cell's stream output; the rest is cut with a note (as Jupyter does).</summary>
    public const int MaxStreamCharacters = 1 << 20;

    public NotebookRun Run(string path, RunOptions options)
    {
        var clock = Stopwatch.StartNew();
        var started = DateTimeOffset.Now;
        NotebookDocument doc;
        try { doc = NotebookDocument.Load(path); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DecoderFallbackException)
        {
            return new NotebookRun(path, "", "", clock.Elapsed, new CellFailure(0, "(notebook)", e.Message), []);
        }
        string stem = options.OutputName ?? System.IO.Path.GetFileNameWithoutExtension(path);
        string executed = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.OutputDirectory, stem + ".ipynb"));
        string report = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.OutputDirectory, stem + ".html"));
        if (string.Equals(executed, doc.Path, StringComparison.Ordinal))
            throw new ArgumentException($"--output '{options.OutputDirectory}' would overwrite the notebook itself ('{doc.Path}'); choose another folder.", nameof(options));
        EnsureWritable(options.OutputDirectory);
        if (options.Parameters.Count > 0 && !doc.Cells.Any(c => c.IsParameters))
            throw new ArgumentException($"--param given, but '{path}' has no cell tagged 'parameters' to override.", nameof(options));
        var parameterCode = ParameterAssignments(options, NotebookParameters.Declared(doc));

        CellFailure? failure = null;
        var claims = new List<(string, bool)>();
        var scorecards = new List<ScorecardTable>();
        if (!doc.Cells.Any(c => c.Kind == CellKind.Code))
            failure = new CellFailure(0, "(notebook)", $"Notebook '{path}' has no code cells.");
        var provenance = Provenance.Collect(options, started, doc.Path, NotebookParameters.Declared(doc));
        var folder = System.IO.Path.GetDirectoryName(doc.Path)!;
        var code = doc.Cells.Count(c => c.Kind == CellKind.Code);
        using var task = options.Progress.Start(System.IO.Path.GetFileName(path), code);
        KernelClient? kernel = null;
        try
        {
            if (failure is null)
            {
                task.Report(0, "starting the .NET Interactive kernel");
                kernel = KernelClient.Start(folder);
            }
            int executionCount = 0;
            for (int i = 0; i < doc.Cells.Count && failure is null; i++)
            {
                var cell = doc.Cells[i];
                if (cell.Kind != CellKind.Code) continue;
                cell.Outputs.Clear();
                int number = i + 1;
                cell.ExecutionCount = ++executionCount;
                task.Report(executionCount - 1, $"cell {number}: {cell.FirstLine}");
                var cellClock = Stopwatch.StartNew();
                var outputs = new CellOutputBuilder(cell, line => task.Report(executionCount - 1, $"cell {number}: {line}"));
                var source = cell.IsParameters ? cell.Source + "\n" + parameterCode : cell.Source;
                var result = kernel!.Submit(source, KernelNameOf(cell), options.CellTimeout, outputs.Add);
                outputs.Finish();
                if (!result.Succeeded)
                {
                    var message = result.Message ?? "failed";
                    cell.Outputs.Add(new CellOutput("error", new Dictionary<string, string>(), ErrorName: "Error", ErrorValue: message));
                    failure = new CellFailure(number, cell.FirstLine, FirstLines(message));
                }
                claims.AddRange(outputs.Claims);
                scorecards.AddRange(outputs.Scorecards.Where(s => !scorecards.Any(s.SameAs)));
                cell.Duration = cellClock.Elapsed;
                task.Report(executionCount);
                Write(executed, doc, provenance, clock, failure); // after every cell: a killed run keeps what ran
            }
            if (kernel is not null && failure is null) provenance["versions"] = KernelVersions(kernel);
        }
        catch (InvalidOperationException e) when (failure is null) // the kernel did not start
        {
            failure = new CellFailure(0, "(kernel)", e.Message);
        }
        catch (FileNotFoundException e) when (failure is null) // the kernel is not installed
        {
            failure = new CellFailure(0, "(kernel)", e.Message);
        }
        finally { kernel?.Dispose(); }
        Write(executed, doc, provenance, clock, failure);
        AtomicFile.WriteAllText(report, HtmlReport.Render(doc, provenance, failure));
        return new NotebookRun(path, executed, report, clock.Elapsed, failure, claims, scorecards);
    }

    static void Write(string executed, NotebookDocument doc, JsonObject provenance, Stopwatch clock, CellFailure? failure)
    {
        provenance["duration_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        provenance["passed"] = failure is null;
        provenance["cells"] = new JsonArray(doc.Cells.Select((c, i) => (JsonNode)new JsonObject
        {
            ["cell"] = i + 1, ["seconds"] = Math.Round(c.Duration?.TotalSeconds ?? 0, 2),
        }).ToArray());
        doc.Metadata["workbench"] = provenance.DeepClone();
        AtomicFile.WriteAllText(executed, doc.ToJson());
    }

    /// <summary>The subkernel a cell runs in, from its Polyglot metadata (VS Code writes it); C# by default.</summary>
    static string KernelNameOf(NotebookCell cell) =>
        cell.Metadata["polyglot_notebook"]?["kernelName"]?.GetValue<string>()
        ?? cell.Metadata["dotnet_interactive"]?["language"]?.GetValue<string>()
        ?? "csharp";

    static string FirstLines(string message)
    {
        var lines = message.Replace("\r\n", "\n").Split('\n').Where(l => l.Trim().Length > 0).Take(3);
        return string.Join(" | ", lines.Select(l => l.Trim()));
    }

    /// <summary>Versions as the kernel process that ran the notebook reports them (TorchSharp, libtorch, .NET).</summary>
    static JsonNode KernelVersions(KernelClient kernel)
    {
        string? json = null;
        var result = kernel.Submit("System.Text.Json.JsonSerializer.Serialize(Workbench.Runtime.TorchRuntime.Versions())", "csharp",
            TimeSpan.FromMinutes(1), e => { if (e.Type == "ReturnValueProduced") json = CellOutputBuilder.Bundle(e.Payload).GetValueOrDefault("text/plain"); });
        var versions = new JsonObject { ["dotnet-interactive"] = KernelClient.PinnedVersion };
        if (result.Succeeded && json is not null && JsonNode.Parse(json) is JsonObject reported)
            foreach (var (k, v) in reported) versions[k] = v?.DeepClone();
        return versions;
    }

    static void EnsureWritable(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = System.IO.Path.Combine(folder, $".write-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write to the output folder '{folder}': {e.Message}. Choose another with --output.", e);
        }
    }

    /// <summary>Assignments appended to the parameters cell: Quick, then every --param (papermill's convention).
    /// Each value is checked against the type the parameters cell declares, so a bad one is named before the kernel starts.</summary>
    static string ParameterAssignments(RunOptions options, IReadOnlyDictionary<string, NotebookParameter> declared)
    {
        var lines = new List<string>();
        if (declared.ContainsKey("Quick")) lines.Add($"Quick = {(options.Quick ? "true" : "false")};");
        foreach (var (name, value) in options.Parameters)
        {
            if (!declared.TryGetValue(name, out var parameter))
                throw new ArgumentException($"--param {name}: the parameters cell declares no '{name}'; it declares {(declared.Count == 0 ? "nothing" : string.Join(", ", declared.Values.Select(p => $"{p.Name} ({p.Type})")))}.", nameof(options));
            lines.Add($"{name} = {parameter.Literal(value)};");
        }
        return string.Join("\n", lines);
    }
}

/// <summary>A parameter the notebook's parameters cell declares: its name, C# type and default.</summary>
public sealed record NotebookParameter(string Name, string Type, string Default)
{
    /// <summary>The C# literal of <paramref name="value"/> for this parameter's type; an error naming the parameter, the type and the value otherwise.</summary>
    public string Literal(string value)
    {
        string? literal = Type switch
        {
            "bool" => bool.TryParse(value, out var b) ? (b ? "true" : "false") : null,
            "int" => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i.ToString(CultureInfo.InvariantCulture) : null,
            "long" => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l.ToString(CultureInfo.InvariantCulture) + "L" : null,
            "double" => value switch
            {
                "NaN" => "double.NaN",
                "Infinity" or "+Infinity" => "double.PositiveInfinity",
                "-Infinity" => "double.NegativeInfinity",
                _ => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d.ToString("R", CultureInfo.InvariantCulture) + "d" : null,
            },
            "string" => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"",
            _ => null,
        };
        return literal ?? throw new ArgumentException(
            $"--param {Name}={value}: expected a{(Type is "int" ? "n" : "")} {Type} (the parameters cell has {Name} = {Default}), got '{value}'.", "options");
    }
}

/// <summary>Reads the declarations of a notebook's parameters cell: <c>var Name = literal;</c> or <c>type Name = ...;</c>.</summary>
public static class NotebookParameters
{
    static readonly Regex Declaration = new(@"^\s*(var|bool|int|long|double|string)\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^;]+);", RegexOptions.Multiline);

    public static IReadOnlyDictionary<string, NotebookParameter> Declared(NotebookDocument doc)
    {
        var declared = new Dictionary<string, NotebookParameter>(StringComparer.Ordinal);
        foreach (var cell in doc.Cells.Where(c => c.IsParameters))
            foreach (Match m in Declaration.Matches(cell.Source))
            {
                var (type, name, value) = (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value.Trim());
                declared[name] = new NotebookParameter(name, type == "var" ? TypeOf(value) : type, value);
            }
        return declared;
    }

    /// <summary>The type C# infers for a literal: true/false, an integer, a real number, a string.</summary>
    static string TypeOf(string literal) =>
        literal is "true" or "false" ? "bool"
        : Regex.IsMatch(literal, @"^-?\d+$") ? "int"
        : Regex.IsMatch(literal, @"^-?\d+[lL]$") ? "long"
        : Regex.IsMatch(literal, @"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?[dD]?$") ? "double"
        : literal.StartsWith('"') ? "string"
        : "unknown";
}

/// <summary>
/// Turns the kernel's events for one cell into nbformat outputs: standard output and error into streams,
/// DisplayedValueProduced into display_data (an update replaces the output with the same value id, so a
/// progress display ends as one output), ReturnValueProduced into execute_result.
/// </summary>
sealed class CellOutputBuilder(NotebookCell cell, Action<string> onLine)
{
    readonly Dictionary<string, int> _byValueId = new();
    readonly List<int> _neverUpdated = new();
    readonly Dictionary<string, System.Text.StringBuilder> _streams = new();
    readonly List<(string Name, int Index)> _streamOrder = new();

    public List<(string Claim, bool Holds)> Claims { get; } = new();
    public List<ScorecardTable> Scorecards { get; } = new();

    public void Add(KernelEvent e)
    {
        switch (e.Type)
        {
            case "StandardOutputValueProduced":
            case "StandardErrorValueProduced":
                var name = e.Type == "StandardOutputValueProduced" ? "stdout" : "stderr";
                var text = Bundle(e.Payload).GetValueOrDefault("text/plain") ?? "";
                if (!_streams.TryGetValue(name, out var sb))
                {
                    _streams[name] = sb = new System.Text.StringBuilder();
                    cell.Outputs.Add(new CellOutput("stream", new Dictionary<string, string>(), "", StreamName: name));
                    _streamOrder.Add((name, cell.Outputs.Count - 1));
                }
                if (sb.Length < NotebookRunner.MaxStreamCharacters) sb.Append(text);
                foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)) onLine(line);
                break;
            case "DisplayedValueProduced":
            case "DisplayedValueUpdated":
            case "ReturnValueProduced":
                var bundle = Bundle(e.Payload);
                if (bundle.Count == 0) break;
                var valueId = e.Payload["valueId"]?.GetValue<string>();
                var output = e.Type == "ReturnValueProduced"
                    ? new CellOutput("execute_result", bundle, ExecutionCount: cell.ExecutionCount)
                    : new CellOutput("display_data", bundle);
                // The kernel (1.0.712001, measured) gives a value's updates another value id than the DisplayedValueProduced
                // that showed it; the first update of an id never seen replaces the latest display not yet updated.
                if (e.Type == "DisplayedValueUpdated" && valueId is not null && !_byValueId.ContainsKey(valueId) && _neverUpdated.Count > 0)
                {
                    _byValueId[valueId] = _neverUpdated[^1];
                    _neverUpdated.RemoveAt(_neverUpdated.Count - 1);
                }
                if (valueId is not null && _byValueId.TryGetValue(valueId, out var index)) cell.Outputs[index] = output;
                else
                {
                    cell.Outputs.Add(output);
                    if (valueId is not null) _byValueId[valueId] = cell.Outputs.Count - 1;
                    if (e.Type == "DisplayedValueProduced") _neverUpdated.Add(cell.Outputs.Count - 1);
                }
                if (e.Type == "DisplayedValueUpdated" && bundle.TryGetValue("text/plain", out var status))
                    onLine(status.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "");
                break;
        }
    }

    /// <summary>Closes the streams (cut at <see cref="NotebookRunner.MaxStreamCharacters"/>) and reads the claims tables and scorecards.</summary>
    public void Finish()
    {
        foreach (var (name, index) in _streamOrder)
        {
            var sb = _streams[name];
            var text = sb.Length >= NotebookRunner.MaxStreamCharacters
                ? sb.ToString(0, NotebookRunner.MaxStreamCharacters) + $"\n[output cut at {NotebookRunner.MaxStreamCharacters:N0} characters]\n"
                : sb.ToString();
            cell.Outputs[index] = new CellOutput("stream", new Dictionary<string, string>(), text, StreamName: name);
        }
        foreach (var o in cell.Outputs)
        {
            if (!o.Data.TryGetValue("text/html", out var html)) continue;
            Claims.AddRange(ReportMarkers.ClaimsIn(html));
            Scorecards.AddRange(ReportMarkers.ScorecardsIn(html));
        }
    }

    /// <summary>An event's formattedValues as a mime bundle.</summary>
    public static Dictionary<string, string> Bundle(JsonObject payload)
    {
        var bundle = new Dictionary<string, string>();
        if (payload["formattedValues"] is JsonArray values)
            foreach (var v in values)
                if (v?["mimeType"]?.GetValue<string>() is { } mime && v["value"]?.GetValue<string>() is { } value && v["suppressDisplay"]?.GetValue<bool>() != true)
                    bundle[mime] = value;
        return bundle;
    }
}

/// <summary>
/// Reads what the workbench's HTML table formatter marks in a notebook's output (<see cref="Workbench.Interactive.HtmlFormatters"/>):
/// the verdicts of claims tables and the rankings of scorecards, so a run's index can list them.
/// </summary>
public static class ReportMarkers
{
    static readonly Regex Claims = new(Workbench.Interactive.HtmlFormatters.ClaimsAttributeName + "=\"([^\"]*)\"");
    static readonly Regex Scorecards = new(Workbench.Interactive.HtmlFormatters.ScorecardAttributeName + "=\"([^\"]*)\"");

    /// <summary>Every claim of every claims table in <paramref name="html"/>, with its verdict.</summary>
    public static IEnumerable<(string Claim, bool Holds)> ClaimsIn(string html)
    {
        foreach (Match m in Claims.Matches(html))
            if (JsonNode.Parse(WebUtility.HtmlDecode(m.Groups[1].Value)) is JsonArray rows)
                foreach (var row in rows)
                    yield return (row?["claim"]?.GetValue<string>() ?? "", row?["holds"]?.GetValue<bool>() == true);
    }

    /// <summary>Every scorecard in <paramref name="html"/>: its rank columns and rows as displayed.</summary>
    public static IEnumerable<ScorecardTable> ScorecardsIn(string html)
    {
        foreach (Match m in Scorecards.Matches(html))
            if (JsonNode.Parse(WebUtility.HtmlDecode(m.Groups[1].Value)) is JsonObject card && card["columns"] is JsonArray columns && card["rows"] is JsonArray rows)
                yield return new ScorecardTable(columns.Select(c => c?.GetValue<string>() ?? "").ToList(),
                    rows.OfType<JsonArray>().Select(r => (IReadOnlyList<string>)r.Select(c => c?.GetValue<string>() ?? "").ToList()).ToList());
    }
}
