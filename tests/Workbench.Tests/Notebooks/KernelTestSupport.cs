using System.Text.Json.Nodes;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>Tests that start the .NET Interactive kernel share one collection: they run one at a time.</summary>
[CollectionDefinition("kernel")]
public sealed class KernelCollection : ICollectionFixture<StateNotebookRun>;

/// <summary>
/// The state fixture (workbench package first cell, parameters, display, charts, a claims table, an
/// in-place progress display, an image tensor) run once in the real kernel, shared by the tests that read it.
/// </summary>
public sealed class StateNotebookRun : IDisposable
{
    public string Output { get; } = Directory.CreateTempSubdirectory("nbstate").FullName;
    public RecordingProgress Progress { get; } = new();
    public NotebookRun Run { get; }

    public StateNotebookRun() =>
        Run = new NotebookRunner().Run(Notebook.Fixture("state.ipynb"), new RunOptions { Quick = true, OutputDirectory = Output, Progress = Progress });

    public void Dispose() => Directory.Delete(Output, true);
}

/// <summary>Progress messages a run reported.</summary>
public sealed class RecordingProgress : Workbench.Runtime.IProgressSink
{
    public List<string> Messages { get; } = new();
    public Workbench.Runtime.IProgressTask Start(string description, long total) => new Task(this);
    sealed class Task(RecordingProgress owner) : Workbench.Runtime.IProgressTask
    {
        public void Report(long completed, string? status = null) { if (status is not null) lock (owner.Messages) owner.Messages.Add(status); }
        public void Dispose() { }
    }
}

/// <summary>Reading executed notebooks.</summary>
static class Notebook
{
    internal static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Workbench.sln"))) return d.FullName;
            throw new InvalidOperationException("Workbench.sln not found above the test folder.");
        }
    }

    internal static string Fixture(string name) => Path.Combine(RepoRoot, "tests", "Workbench.Tests", "Notebooks", "Fixtures", name);

    internal static JsonObject Load(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    internal static List<JsonObject> CodeCells(JsonObject nb) =>
        nb["cells"]!.AsArray().Select(c => (JsonObject)c!).Where(c => (string)c["cell_type"]! == "code").ToList();

    internal static IEnumerable<JsonObject> Outputs(JsonObject cell) => cell["outputs"]!.AsArray().Select(o => (JsonObject)o!);

    /// <summary>An output's text: stream text, else text/plain, else text/html.</summary>
    internal static string Text(JsonObject output) =>
        output["text"] is JsonArray lines ? string.Concat(lines.Select(t => (string)t!))
        : output["data"]?["text/plain"]?.GetValue<string>() ?? output["data"]?["text/html"]?.GetValue<string>() ?? "";

    internal static string AllText(JsonObject cell) => string.Join("|", Outputs(cell).Select(Text));

    internal static string Html(JsonObject output) => output["data"]?["text/html"]?.GetValue<string>() ?? "";

    /// <summary>Writes a one-cell-per-entry C# notebook (nbformat 4.5, Polyglot metadata) into <paramref name="folder"/>.</summary>
    internal static string Write(string folder, string name, params string[] cells)
    {
        var doc = new JsonArray();
        for (int i = 0; i < cells.Length; i++)
            doc.Add(new JsonObject
            {
                ["cell_type"] = "code", ["id"] = $"c{i}", ["execution_count"] = null, ["outputs"] = new JsonArray(),
                ["metadata"] = NotebookDocument.CodeCellMetadata(), ["source"] = cells[i],
            });
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, new JsonObject { ["cells"] = doc, ["metadata"] = NotebookDocument.DefaultMetadata(), ["nbformat"] = 4, ["nbformat_minor"] = 5 }.ToJsonString());
        return path;
    }
}
