using System.Security.Cryptography;
using Workbench.Notebooks;
using static Workbench.Tests.Notebooks.Notebook;

namespace Workbench.Tests.Notebooks;

/// <summary>
/// The definition of "the notebooks work": every notebook of the project runs, cell by cell, in quick mode in the
/// released .NET Interactive kernel started as VS Code starts it; the outputs carry the mime types the kernel
/// shows (Plotly charts as HTML with a plotly div, DataFrames as HTML tables); TorchSharp loads without its
/// fallback folder and without writing to the NuGet cache.
/// </summary>
[Collection("kernel")]
public class ProjectNotebookTests : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("nbproject").FullName;
    public void Dispose() => Directory.Delete(_out, true);

    public static TheoryData<string> ProjectNotebooks()
    {
        var data = new TheoryData<string>();
        foreach (var p in Directory.GetFiles(Path.Combine(RepoRoot, "notebooks"), "*.ipynb").OrderBy(p => p)) data.Add(Path.GetFileName(p));
        return data;
    }

    [Theory]
    [MemberData(nameof(ProjectNotebooks))]
    public void Project_notebook_runs_in_the_kernel_in_quick_mode(string notebook)
    {
        var cacheBefore = NuGetTorchFingerprint();
        var run = new NotebookRunner().Run(Path.Combine(RepoRoot, "notebooks", notebook), new RunOptions { Quick = true, OutputDirectory = _out });
        Assert.True(run.Passed, run.Describe());

        var outputs = CodeCells(Load(run.ExecutedNotebook)).SelectMany(Outputs).ToList();
        Assert.DoesNotContain(outputs, o => (string)o["output_type"]! == "error");
        var html = outputs.Select(Html).Where(h => h.Length > 0).ToList();
        Assert.Contains(html, h => h.Contains("class=\"wb-plot\"") && h.Contains("Plotly.newPlot("));
        Assert.Contains(html, h => h.Contains("<table class=\"wb-table\""));
        // Every chart and table the kernel returned went through the workbench's formatters, not the kernel's default object view.
        Assert.DoesNotContain(html, h => h.Contains("Plotly.NET.GenericChart") || h.Contains("Microsoft.Data.Analysis.DataFrame"));

        // An exercise notebook ships with its solutions on: every check passes.
        Assert.DoesNotContain(html, h => h.Contains("data-workbench-exercise=\"fail\""));
        if (notebook.Contains("exercises")) Assert.Equal(4, html.Count(h => h.Contains("data-workbench-exercise=\"pass\"")));

        Assert.Equal(cacheBefore, NuGetTorchFingerprint());
        Assert.Empty(TorchSharpFallbackFolders());
    }

    /// <summary>Without the solutions every exercise check fails (and says why): the checks test the answers, not the cells.</summary>
    [Fact]
    public void Exercise_checks_fail_on_empty_answers()
    {
        var run = new NotebookRunner().Run(Path.Combine(RepoRoot, "notebooks", "10-exercises-attribution.ipynb"),
            new RunOptions { Quick = true, OutputDirectory = _out, Parameters = new Dictionary<string, string> { ["ShowSolutions"] = "false" } });
        Assert.True(run.Passed, run.Describe());
        var html = CodeCells(Load(run.ExecutedNotebook)).SelectMany(Outputs).Select(Html).ToList();
        Assert.Equal(4, html.Count(h => h.Contains("data-workbench-exercise=\"fail\"")));
        Assert.DoesNotContain(html, h => h.Contains("data-workbench-exercise=\"pass\""));
        Assert.Equal(4, html.Count(h => h.Contains("data-workbench-exercise=\"fail\"") && h.Contains("no answer yet")));
    }

    /// <summary>TorchSharp's fallback copies libtorch into a "cpu" folder beside TorchSharp.dll; it must never run.</summary>
    static IEnumerable<string> TorchSharpFallbackFolders()
    {
        var beside = new List<string>();
        foreach (var bin in Directory.GetDirectories(Path.Combine(RepoRoot, "src"), "net10.0", SearchOption.AllDirectories)
                     .Concat(Directory.GetDirectories(Path.Combine(RepoRoot, "tests"), "net10.0", SearchOption.AllDirectories)))
            beside.Add(Path.Combine(bin, "cpu"));
        var torchSharp = Path.Combine(GlobalPackages(), "torchsharp");
        if (Directory.Exists(torchSharp)) beside.AddRange(Directory.GetDirectories(torchSharp, "net*", SearchOption.AllDirectories).Select(d => Path.Combine(d, "cpu")));
        return beside.Where(Directory.Exists);
    }

    /// <summary>File names, sizes and the bridge library's hash in TorchSharp's and libtorch's NuGet folders.</summary>
    static string NuGetTorchFingerprint()
    {
        var lines = new List<string>();
        foreach (var package in new[] { "torchsharp", "libtorch-cpu-linux-x64" })
        {
            var folder = Path.Combine(GlobalPackages(), package);
            if (!Directory.Exists(folder)) continue;
            foreach (var f in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
                lines.Add($"{f} {new FileInfo(f).Length}" + (f.EndsWith("libLibTorchSharp.so") ? " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))) : ""));
        }
        return string.Join("\n", lines);
    }

    static string GlobalPackages() => Workbench.Runtime.TorchNativeLoader.GlobalPackagesFolder();
}
