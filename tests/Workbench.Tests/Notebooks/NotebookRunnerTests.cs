using System.Text.Json.Nodes;
using Workbench.Notebooks;
using static Workbench.Tests.Notebooks.Notebook;

namespace Workbench.Tests.Notebooks;

/// <summary>The runner on the real .NET Interactive kernel: outputs, parameters, failures, crashes, timeouts, output safety.</summary>
[Collection("kernel")]
public class NotebookRunnerTests(StateNotebookRun state) : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("nbrun").FullName;
    public void Dispose() => Directory.Delete(_out, true);

    NotebookRun Run(string path, RunOptions? options = null) =>
        new NotebookRunner().Run(path, (options ?? new RunOptions()) with { OutputDirectory = _out });

    [Fact]
    public void State_is_shared_across_cells_and_the_kernels_outputs_are_recorded()
    {
        Assert.True(state.Run.Passed, state.Run.Describe());
        var nb = Load(state.Run.ExecutedNotebook);
        var cells = CodeCells(nb);
        Assert.Contains("displayed", AllText(cells[2]));
        Assert.Contains("printed", AllText(cells[2]));
        Assert.Contains("82", AllText(cells[3]));                 // 40 * Scale(2) + 2: state carried over
        Assert.Equal("quick", AllText(cells[4]));                 // the runner set Quick = true in the parameters cell
        Assert.Contains("written with a magic", AllText(cells[5])); // the kernel's own #!markdown rendering
        Assert.Contains("6", AllText(cells[6]));
        Assert.Equal(new[] { ("a", true), ("b", false) }, state.Run.Claims.ToArray());
    }

    [Fact]
    public void Charts_tables_and_image_tensors_carry_their_mime_types()
    {
        var cells = CodeCells(Load(state.Run.ExecutedNotebook));
        var table = Html(Outputs(cells[7]).Single());
        Assert.Contains("<table class=\"wb-table\"", table);
        foreach (var chartCell in new[] { cells[8], cells[9] })
        {
            var chart = Outputs(chartCell).Single();
            Assert.Contains("class=\"wb-plot\"", Html(chart));
            Assert.Contains("Plotly.newPlot(", Html(chart));
        }
        Assert.Equal("display_data", (string)Outputs(cells[9]).Single()["output_type"]!); // x.Display()
        Assert.Contains("src=\"data:image/png;base64,", Html(Outputs(cells[11]).Single()));
    }

    [Fact]
    public void A_progress_display_updates_in_place_and_keeps_one_line_per_task()
    {
        var progress = Outputs(CodeCells(Load(state.Run.ExecutedNotebook))[10]).ToList();
        var only = Assert.Single(progress);
        var lines = Text(only).Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("epoch 1/2: 20/20 (100%)", lines[0]);
        Assert.StartsWith("epoch 2/2: 20/20 (100%)", lines[1]);
        Assert.All(lines, l => Assert.Contains(" done in ", l));
    }

    [Fact]
    public void Lines_a_cell_prints_reach_the_runners_progress_while_it_runs()
    {
        lock (state.Progress.Messages)
            Assert.Contains(state.Progress.Messages, m => m.StartsWith("cell ") && m.EndsWith(": printed"));
    }

    [Fact]
    public void Provenance_names_the_kernel_and_the_versions_it_loaded()
    {
        var provenance = Load(state.Run.ExecutedNotebook)["metadata"]!["workbench"]!;
        Assert.Equal("quick", (string)provenance["mode"]!);
        Assert.Equal(KernelClient.PinnedVersion, (string)provenance["versions"]!["dotnet-interactive"]!);
        Assert.StartsWith("0.107", (string)provenance["versions"]!["torchsharp"]!);
        Assert.StartsWith("2.10", (string)provenance["versions"]!["libtorch"]!);
    }

    /// <summary>The executed notebook, copied out of the repository, runs again with the package first cell, and its parameters are overridden.</summary>
    [Fact]
    public void A_notebook_outside_the_repository_runs_with_its_parameters_overridden()
    {
        var outside = Directory.CreateTempSubdirectory("nboutside").FullName;
        try
        {
            var copy = Path.Combine(outside, "copied.ipynb");
            File.Copy(state.Run.ExecutedNotebook, copy);
            var run = Run(copy, new RunOptions { Quick = false, Parameters = new Dictionary<string, string> { ["Scale"] = "3" } });
            Assert.True(run.Passed, run.Describe());
            var nb = Load(run.ExecutedNotebook);
            var cells = CodeCells(nb);
            Assert.Contains("122", AllText(cells[3]));
            Assert.Equal("full", AllText(cells[4]));
            Assert.Equal(CodeCells(Load(state.Run.ExecutedNotebook)).Select(c => c["outputs"]!.AsArray().Count), cells.Select(c => c["outputs"]!.AsArray().Count));
            Assert.Equal("3", (string)nb["metadata"]!["workbench"]!["parameters"]!["Scale"]!);
        }
        finally { Directory.Delete(outside, true); }
    }

    [Theory]
    [InlineData("syntax-error.ipynb", 2, "CS1525")]
    [InlineData("exception.ipynb", 3, "boom")]
    [InlineData("unknown-magic.ipynb", 2, "Unknown magic command '#!nonsense'")]
    [InlineData("missing-reference.ipynb", 1, "could not be found")]
    [InlineData("unknown-nuget.ipynb", 1, "Unable to find package Workbench.NoSuchPackage")]
    [InlineData("empty.ipynb", 0, "no code cells")]
    [InlineData("not-json.ipynb", 0, "not valid JSON")]
    public void Failures_name_the_cell_and_the_reason(string notebook, int cell, string message)
    {
        var run = Run(Fixture(notebook));
        Assert.False(run.Passed);
        Assert.Equal(cell, run.Failure!.CellNumber);
        Assert.Contains(message, run.Failure.Message);
        if (cell == 0) return;
        // What ran so far is still written, with the error as the failing cell's output, and no later cell ran.
        var cells = CodeCells(Load(run.ExecutedNotebook));
        Assert.Contains(cells.SelectMany(Outputs), o => (string)o["output_type"]! == "error");
        Assert.All(cells.Skip(cell), c => Assert.Null(c["execution_count"]?.GetValue<int?>()));
        Assert.True(File.Exists(run.Report));
    }

    [Fact]
    public void Dib_notebooks_run_too()
    {
        var run = Run(Fixture("simple.dib"));
        Assert.True(run.Passed, run.Describe());
        Assert.Contains("42", AllText(CodeCells(Load(run.ExecutedNotebook))[1]));
    }

    [Fact]
    public void A_cell_that_ends_the_kernel_is_reported_against_that_cell_and_earlier_output_is_kept()
    {
        var path = Write(_out, "exits.ipynb", "Console.WriteLine(\"before\");", "System.Environment.Exit(3);", "int never = 1;");
        var run = Run(path, new RunOptions { OutputName = "exits-run" });
        Assert.False(run.Passed);
        Assert.Equal(2, run.Failure!.CellNumber);
        Assert.Contains("kernel process exited", run.Failure.Message);
        Assert.Contains("before", AllText(CodeCells(Load(run.ExecutedNotebook))[0]));
    }

    [Fact]
    public void An_exception_on_a_background_thread_fails_its_cell_instead_of_ending_the_run_silently()
    {
        var path = Write(_out, "background.ipynb", "new System.Threading.Thread(() => throw new InvalidOperationException(\"bg\")).Start(); System.Threading.Thread.Sleep(3000);");
        var run = Run(path, new RunOptions { OutputName = "background-run" });
        Assert.False(run.Passed);
        Assert.Equal(1, run.Failure!.CellNumber);
        Assert.True(File.Exists(run.ExecutedNotebook) && File.Exists(run.Report));
    }

    [Fact]
    public void A_cell_past_its_timeout_is_stopped_and_reported()
    {
        var path = Write(_out, "hangs.ipynb", "int ok = 1;", "while (true) { }");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = Run(path, new RunOptions { OutputName = "hangs-run", CellTimeout = TimeSpan.FromSeconds(15) });
        Assert.False(run.Passed);
        Assert.Equal(2, run.Failure!.CellNumber);
        Assert.Contains("timeout", run.Failure.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"took {clock.Elapsed}");
    }

    /// <summary>A runner stopped by SIGTERM (or Ctrl-C) stops its kernel too: the kernel does not exit on a closed stdin, and an
    /// orphan would go on computing the cell.</summary>
    [Fact]
    public void A_runner_stopped_by_a_signal_stops_its_kernel()
    {
        var path = Write(_out, "long.ipynb", "System.Threading.Thread.Sleep(600_000);");
        var cli = Path.Combine(RepoRoot, "src", "Workbench.Cli", "bin", "Release", "net10.0", "Workbench.Cli");
        Assert.True(File.Exists(cli), $"build the CLI first: {cli}");
        var start = new System.Diagnostics.ProcessStartInfo(cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "notebook", "run", path, "--output", Path.Combine(_out, "signal") }) start.ArgumentList.Add(a);
        using var runner = System.Diagnostics.Process.Start(start)!;
        runner.BeginOutputReadLine();
        runner.BeginErrorReadLine();
        int? kernel = null;
        for (var deadline = DateTime.UtcNow.AddMinutes(3); kernel is null && DateTime.UtcNow < deadline; Thread.Sleep(500))
            kernel = Children(runner.Id).Where(pid => Command(pid).Contains("stdio")).Select(pid => (int?)pid).FirstOrDefault();
        Assert.True(kernel is not null, "the runner started no kernel");
        Thread.Sleep(3000); // let the kernel get into the cell
        using (var term = System.Diagnostics.Process.Start("kill", new[] { "-TERM", runner.Id.ToString() })) term.WaitForExit();
        Assert.True(runner.WaitForExit(30_000), "the runner did not exit on SIGTERM");
        for (var deadline = DateTime.UtcNow.AddSeconds(20); Alive(kernel.Value) && DateTime.UtcNow < deadline; ) Thread.Sleep(250);
        Assert.False(Alive(kernel.Value), $"kernel {kernel} outlived its runner");
    }

    static IEnumerable<int> Children(int pid) =>
        File.Exists($"/proc/{pid}/task/{pid}/children")
            ? File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)
            : [];

    static string Command(int pid) { try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); } catch (IOException) { return ""; } }

    /// <summary>Running (a zombie waiting for its reaper counts as gone).</summary>
    static bool Alive(int pid)
    {
        try { return File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].Equals("Z"); }
        catch (IOException) { return false; }
    }

    [Fact]
    public void A_cell_that_prints_and_then_throws_keeps_what_it_printed()
    {
        var path = Write(_out, "prints-then-throws.ipynb", "Console.WriteLine(\"said first\"); throw new InvalidOperationException(\"then failed\");");
        var run = Run(path, new RunOptions { OutputName = "prints-run" });
        Assert.Contains("then failed", run.Failure!.Message);
        var outputs = Outputs(CodeCells(Load(run.ExecutedNotebook))[0]).ToList();
        Assert.Contains(outputs, o => (string)o["output_type"]! == "stream" && Text(o).Contains("said first"));
        Assert.Contains(outputs, o => (string)o["output_type"]! == "error");
    }

    [Fact]
    public void Two_notebooks_with_one_file_name_get_their_own_outputs()
    {
        var first = Directory.CreateDirectory(Path.Combine(_out, "a")).FullName;
        var second = Directory.CreateDirectory(Path.Combine(_out, "b")).FullName;
        Write(first, "same.ipynb", "\"from a\"");
        Write(second, "same.ipynb", "\"from b\"");
        var results = Path.Combine(_out, "results");
        int code = Workbench.Cli.CliApp.Run(new[] { "notebook", "run", Path.Combine(first, "same.ipynb"), Path.Combine(second, "same.ipynb"), "--output", results });
        Assert.Equal(0, code);
        Assert.Contains("from a", AllText(CodeCells(Load(Path.Combine(results, "same.ipynb")))[0]));
        Assert.Contains("from b", AllText(CodeCells(Load(Path.Combine(results, "same-2.ipynb")))[0]));
        Assert.True(File.Exists(Path.Combine(results, "same.html")) && File.Exists(Path.Combine(results, "same-2.html")));
    }

    [Fact]
    public void Huge_output_is_cut_with_a_note()
    {
        var path = Write(_out, "loud.ipynb", "Console.Write(new string('x', 3 * 1024 * 1024));");
        var run = Run(path, new RunOptions { OutputName = "loud-run" });
        Assert.True(run.Passed, run.Describe());
        var text = AllText(CodeCells(Load(run.ExecutedNotebook))[0]);
        Assert.InRange(text.Length, NotebookRunner.MaxStreamCharacters, NotebookRunner.MaxStreamCharacters + 200);
        Assert.Contains("[output cut at", text);
    }

    [Fact]
    public void Output_that_would_overwrite_the_notebook_is_refused_before_running()
    {
        var path = Write(_out, "self.ipynb", "int x = 1;");
        var e = Assert.Throws<ArgumentException>(() => new NotebookRunner().Run(path, new RunOptions { OutputDirectory = _out }));
        Assert.Contains("overwrite the notebook itself", e.Message);
        Assert.Equal("int x = 1;", (string)Load(path)["cells"]![0]!["source"]!);
    }

    [Fact]
    public void An_unwritable_output_folder_is_reported_before_running()
    {
        var file = Path.Combine(_out, "a-file");
        File.WriteAllText(file, "");
        var e = Assert.Throws<IOException>(() => new NotebookRunner().Run(Fixture("exception.ipynb"), new RunOptions { OutputDirectory = Path.Combine(file, "sub") }));
        Assert.Contains("cannot write to the output folder", e.Message);
    }

    [Fact]
    public void A_parameter_for_a_notebook_without_a_parameters_cell_is_an_error()
    {
        var e = Assert.Throws<ArgumentException>(() => Run(Fixture("exception.ipynb"), new RunOptions { Parameters = new Dictionary<string, string> { ["Seed"] = "7" } }));
        Assert.Contains("no cell tagged 'parameters'", e.Message);
    }

    [Fact]
    public void Invalid_utf8_and_non_text_sources_are_reported_not_run()
    {
        var bad = Path.Combine(_out, "bad-utf8.ipynb");
        var bytes = System.Text.Encoding.UTF8.GetBytes("{\"cells\": [{\"cell_type\": \"code\", \"source\": \"int x = 1; // \u00ff\"}], \"metadata\": {}}").ToList();
        int at = bytes.IndexOf(0xC3); bytes[at + 1] = 0x28;        // break the two-byte sequence of ÿ
        File.WriteAllBytes(bad, bytes.ToArray());
        var run = Run(bad);
        Assert.Contains("not valid UTF-8", run.Failure!.Message);

        var numeric = Path.Combine(_out, "numeric.ipynb");
        File.WriteAllText(numeric, "{\"cells\": [{\"cell_type\": \"code\", \"source\": 42}], \"metadata\": {}}");
        Assert.Contains("cell 1 has a source that is not text", Run(numeric).Failure!.Message);
    }
}

/// <summary>--param values are checked against the parameters cell's declarations before any kernel starts.</summary>
public class NotebookParameterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nbparams").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    string NotebookWithParameters(string parameters)
    {
        var path = Notebook.Write(_dir, "p.ipynb", parameters, "int body = 1;");
        var json = Notebook.Load(path);
        json["cells"]![0]!["metadata"]!["tags"] = new JsonArray("parameters");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void Declarations_give_each_parameter_its_type()
    {
        var doc = NotebookDocument.Load(NotebookWithParameters("var Quick = true;\nvar Seed = 0;\nvar Sigma = 0.25;\ndouble Rate = 1;\nvar Name = \"mnist\";\nlong Big = 5L;"));
        var declared = NotebookParameters.Declared(doc);
        Assert.Equal(new[] { ("Quick", "bool"), ("Seed", "int"), ("Sigma", "double"), ("Rate", "double"), ("Name", "string"), ("Big", "long") },
            declared.Values.Select(p => (p.Name, p.Type)));
        Assert.Equal("double.NaN", declared["Sigma"].Literal("NaN"));
        Assert.Equal("double.PositiveInfinity", declared["Rate"].Literal("Infinity"));
        Assert.Equal("0.5d", declared["Sigma"].Literal("0.5"));
        Assert.Equal("7", declared["Seed"].Literal("7"));
        Assert.Equal("\"a\\\"b\"", declared["Name"].Literal("a\"b"));
    }

    [Theory]
    [InlineData("Seed", "abc", "expected an int")]
    [InlineData("Quick", "yes", "expected a bool")]
    [InlineData("Sigma", "wide", "expected a double")]
    [InlineData("Missing", "1", "declares no 'Missing'")]
    public void A_bad_parameter_is_named_before_the_kernel_starts(string name, string value, string message)
    {
        var path = NotebookWithParameters("var Quick = true;\nvar Seed = 0;\nvar Sigma = 0.25;");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<ArgumentException>(() => new NotebookRunner().Run(path,
            new RunOptions { OutputDirectory = Path.Combine(_dir, "out"), Parameters = new Dictionary<string, string> { [name] = value } }));
        Assert.Contains(message, e.Message);
        Assert.Contains(name, e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the kernel was started before the parameter was checked");
    }
}
