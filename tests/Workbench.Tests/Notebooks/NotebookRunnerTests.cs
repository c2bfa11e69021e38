using System.Text.Json.Nodes;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class NotebookRunnerTests : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("nbrun").FullName;
    public void Dispose() => Directory.Delete(_out, true);

    internal static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Workbench.sln"))) return d.FullName;
            throw new InvalidOperationException("Workbench.sln not found above the test folder.");
        }
    }

    static string Fixture(string name) => Path.Combine(RepoRoot, "tests", "Workbench.Tests", "Notebooks", "Fixtures", name);

    NotebookRun Run(string name, RunOptions? options = null) =>
        new NotebookRunner().Run(Fixture(name), (options ?? new RunOptions()) with { OutputDirectory = _out });

    static JsonObject Load(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    static List<JsonObject> CodeCells(JsonObject nb) => nb["cells"]!.AsArray().Select(c => (JsonObject)c!).Where(c => (string)c["cell_type"]! == "code").ToList();

    static string Text(JsonObject output) => output["data"]?["text/plain"]?.GetValue<string>() ?? string.Concat(output["text"]?.AsArray().Select(t => (string)t!) ?? []);

    [Fact]
    public void State_is_shared_across_cells_and_outputs_are_recorded()
    {
        var run = Run("state.ipynb", new RunOptions { Quick = true });
        Assert.True(run.Passed, run.Describe());
        var nb = Load(run.ExecutedNotebook);
        var cells = CodeCells(nb);
        string All(int i) => string.Join("|", cells[i]["outputs"]!.AsArray().Select(o => Text((JsonObject)o!)));
        Assert.Contains("displayed", All(2));
        Assert.Contains("printed", All(2));
        Assert.Equal("82", All(3));                         // 40 * Scale(2) + 2: state carried over
        Assert.Equal("quick", All(4));                      // the runner set Quick = true in the parameters cell
        Assert.Equal("6", All(5));
        Assert.Contains("Plotly.newPlot", cells[7]["outputs"]![0]!["data"]!["text/html"]!.GetValue<string>());
        Assert.Equal("display_data", (string)cells[8]["outputs"]![0]!["output_type"]!);
        // The #!markdown cell became a markdown cell.
        Assert.Contains(nb["cells"]!.AsArray(), c => (string)c!["cell_type"]! == "markdown" && string.Concat(c["source"]!.AsArray().Select(s => (string)s!)).Contains("written with a magic"));
        // The claims table was found.
        Assert.Equal(new[] { ("a", true), ("b", false) }, run.Claims.ToArray());
    }

    [Fact]
    public void Lines_a_cell_prints_reach_the_runners_progress_while_it_runs()
    {
        var sink = new RecordingProgress();
        var run = Run("state.ipynb", new RunOptions { Quick = true, Progress = sink });
        Assert.True(run.Passed, run.Describe());
        // Cell 3 prints "printed": the message arrives tagged with its cell, and the text is still in the cell's output.
        Assert.Contains(sink.Messages, m => m.StartsWith("cell ") && m.EndsWith(": printed"));
        Assert.Contains("printed", string.Concat(Load(run.ExecutedNotebook)["cells"]!.AsArray().SelectMany(c => c!["outputs"]?.AsArray() ?? new JsonArray())
            .Select(o => Text((JsonObject)o!))));
    }

    sealed class RecordingProgress : Workbench.Runtime.IProgressSink
    {
        public List<string> Messages { get; } = new();
        public Workbench.Runtime.IProgressTask Start(string description, long total) => new Task(this);
        sealed class Task(RecordingProgress owner) : Workbench.Runtime.IProgressTask
        {
            public void Report(long completed, string? status = null) { if (status is not null) owner.Messages.Add(status); }
            public void Dispose() { }
        }
    }

    [Fact]
    public void Parameters_are_overridden_from_the_command_line()
    {
        var run = Run("state.ipynb", new RunOptions { Quick = false, Parameters = new Dictionary<string, string> { ["Scale"] = "3" } });
        Assert.True(run.Passed, run.Describe());
        var cells = CodeCells(Load(run.ExecutedNotebook));
        Assert.Equal("122", Text((JsonObject)cells[3]["outputs"]![0]!));
        Assert.Equal("full", Text((JsonObject)cells[4]["outputs"]![0]!));
        var provenance = Load(run.ExecutedNotebook)["metadata"]!["workbench"]!;
        Assert.Equal("full", (string)provenance["mode"]!);
        Assert.Equal("3", (string)provenance["parameters"]!["Scale"]!);
        Assert.StartsWith("0.107", (string)provenance["versions"]!["torchsharp"]!);
    }

    [Theory]
    [InlineData("syntax-error.ipynb", 2, "CS1525")]
    [InlineData("exception.ipynb", 3, "boom")]
    [InlineData("unknown-magic.ipynb", 2, "unknown magic command '#!fsharp'")]
    [InlineData("missing-reference.ipynb", 1, "#r path not found")]
    [InlineData("unknown-nuget.ipynb", 1, "the runner carries only")]
    [InlineData("empty.ipynb", 0, "no code cells")]
    [InlineData("not-json.ipynb", 0, "not valid JSON")]
    public void Failures_name_the_cell_and_the_reason(string notebook, int cell, string message)
    {
        var run = Run(notebook);
        Assert.False(run.Passed);
        Assert.Equal(cell, run.Failure!.CellNumber);
        Assert.Contains(message, run.Failure.Message);
        if (cell > 0)
        {
            // What ran so far is still written, with the error as the failing cell's output.
            var cells = CodeCells(Load(run.ExecutedNotebook));
            Assert.Contains(cells.SelectMany(c => c["outputs"]!.AsArray()), o => (string)o!["output_type"]! == "error");
            Assert.True(File.Exists(run.Report));
        }
    }

    [Fact]
    public void Exception_stops_the_notebook_at_the_failing_cell()
    {
        var run = Run("exception.ipynb");
        var cells = CodeCells(Load(run.ExecutedNotebook));
        Assert.Null(cells[3]["execution_count"]?.GetValue<int?>()); // the cell after the failure never ran
    }

    [Fact]
    public void Executed_notebook_has_the_nbformat_essentials_and_polyglot_metadata()
    {
        var run = Run("state.ipynb");
        var nb = Load(run.ExecutedNotebook);
        Assert.Equal(4, (int)nb["nbformat"]!);
        Assert.Equal(5, (int)nb["nbformat_minor"]!);
        Assert.Equal(".net-csharp", (string)nb["metadata"]!["kernelspec"]!["name"]!);
        Assert.Equal("polyglot-notebook", (string)nb["metadata"]!["language_info"]!["name"]!);
        Assert.Equal("csharp", (string)nb["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!);
        var ids = new HashSet<string>();
        foreach (var c in nb["cells"]!.AsArray().Select(c => (JsonObject)c!))
        {
            Assert.Contains((string)c["cell_type"]!, new[] { "code", "markdown" });
            Assert.True(ids.Add((string)c["id"]!));
            Assert.IsType<JsonArray>(c["source"]);
            Assert.IsType<JsonObject>(c["metadata"]);
            if ((string)c["cell_type"]! != "code") { Assert.Null(c["outputs"]); continue; }
            Assert.Equal("csharp", (string)c["metadata"]!["polyglot_notebook"]!["kernelName"]!);
            foreach (var o in c["outputs"]!.AsArray().Select(o => (JsonObject)o!))
            {
                var type = (string)o["output_type"]!;
                Assert.Contains(type, new[] { "stream", "display_data", "execute_result", "error" });
                if (type is "display_data" or "execute_result")
                    Assert.All(o["data"]!.AsObject(), kv => Assert.Contains("/", kv.Key));
            }
        }
    }

    [Fact]
    public void Round_trip_run_reload_run_again()
    {
        var first = Run("state.ipynb");
        var copy = Path.Combine(_out, "again", "state-executed.ipynb");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        // The executed notebook must run again from the fixture folder (its #r paths are relative).
        var beside = Fixture("state.executed.tmp.ipynb");
        File.Copy(first.ExecutedNotebook, beside, true);
        try
        {
            var second = new NotebookRunner().Run(beside, new RunOptions { OutputDirectory = Path.GetDirectoryName(copy)! });
            Assert.True(second.Passed, second.Describe());
            Assert.Equal(CodeCells(Load(first.ExecutedNotebook)).Select(c => c["outputs"]!.AsArray().Count),
                         CodeCells(Load(second.ExecutedNotebook)).Select(c => c["outputs"]!.AsArray().Count));
        }
        finally { File.Delete(beside); }
    }

    [Fact]
    public void Dib_notebooks_run_too()
    {
        var run = Run("simple.dib");
        Assert.True(run.Passed, run.Describe());
        Assert.Equal("42", Text((JsonObject)CodeCells(Load(run.ExecutedNotebook))[1]["outputs"]![0]!));
    }

    public static TheoryData<string> ProjectNotebooks()
    {
        var data = new TheoryData<string>();
        foreach (var p in Directory.GetFiles(Path.Combine(RepoRoot, "notebooks"), "*.ipynb").OrderBy(p => p)) data.Add(Path.GetFileName(p));
        return data;
    }

    /// <summary>Every notebook of the project runs in quick mode: a notebook that throws fails the build.</summary>
    [Theory]
    [MemberData(nameof(ProjectNotebooks))]
    public void Project_notebook_runs_in_quick_mode(string notebook)
    {
        var run = new NotebookRunner().Run(Path.Combine(RepoRoot, "notebooks", notebook), new RunOptions { Quick = true, OutputDirectory = _out });
        Assert.True(run.Passed, run.Describe());
    }
}
