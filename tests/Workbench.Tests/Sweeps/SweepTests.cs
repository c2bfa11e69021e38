using System.Diagnostics;
using Workbench.Cli;
using Workbench.Sweeps;
using Workbench.Training;
using Xunit.Abstractions;
using static Workbench.Tests.Sweeps.SweepFixtures;

namespace Workbench.Tests.Sweeps;

/// <summary>Issue #18: a sweep run as S shards and merged gives exactly the numbers of one process; bad input is refused.</summary>
public class SweepTests(ITestOutputHelper output) : IDisposable
{
    readonly List<string> _made = new();

    /// <summary>A fresh folder for this test (sweeps, model caches), deleted with the test: runs must not pile up in /tmp.</summary>
    string TempDir(string name)
    {
        var dir = SweepFixtures.TempDir(name);
        _made.Add(dir);
        return dir;
    }

    public void Dispose()
    {
        foreach (var dir in _made)
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException e) { output.WriteLine($"could not delete {dir}: {e.Message}"); }
    }

    static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("e1")]
    [InlineData("e3")]
    public void Sharded_sweep_gives_the_numbers_of_one_process_for_1_2_and_3_shards(string experiment)
    {
        var parameters = experiment == "e1" ? E1 : E3;
        // The first sweep (S = 1) trains the networks into an empty cache; the one-process run and the other sweeps reuse them.
        var cache = new ModelCache(TempDir("cache"));
        SweepOutcome? expected = null;
        foreach (int shards in new[] { 1, 2, 3 })
        {
            var sweep = Plan(experiment, parameters, Path.Combine(TempDir($"{experiment}-s{shards}"), "sweep"), shards);
            // Shards in reverse order: the order units run in must not matter.
            for (int i = shards - 1; i >= 0; i--) sweep.RunShard(i, shards, cache: cache);
            var merged = Assert.Single(sweep.Merge());
            expected ??= InProcess(sweep, cache);
            // What a notebook's SweepDirectory parameter loads for its own config: the same record.
            AssertSame(expected, sweep.Experiment.Describe(SweepDirectory.Load<object>(sweep.Path, sweep.Manifest.ConfigFor(sweep.Experiment, 0))));
            AssertSame(expected, merged.Outcome);
            output.WriteLine($"{experiment}, {shards} shard(s): {sweep.Manifest.Units.Count} units merged; same tables, figures and claims as one process");
        }
    }

    [Fact]
    public void Rerunning_a_shard_skips_done_units_and_merge_names_a_missing_one()
    {
        var cache = new ModelCache(TempDir("cache"));
        var sweep = Plan("e1", E1, TempDir("rerun"), shards: 2);
        var first = sweep.RunShard(0, 2, cache: cache);
        Assert.NotEmpty(first.Ran);
        var again = sweep.RunShard(0, 2, cache: cache);
        Assert.Empty(again.Ran);
        Assert.Equal(first.Ran.Select(u => u.Id), again.Skipped.Select(u => u.Id));
        // Shard 1 never ran: merge names its units and the shard to resubmit, and the CLI exits non-zero.
        var missing = Assert.Throws<SweepIncompleteException>(() => sweep.Merge());
        var shard1 = ShardAssignment.Assign(sweep.Manifest.Units, 2)[1];
        Assert.Equal(shard1.Select(u => u.Id), missing.Missing.Select(u => u.Id));
        Assert.Equal(new[] { 1 }, missing.ShardsToRerun);
        foreach (var u in shard1) Assert.Contains(u.Id, missing.Message);
        var cli = Cli("sweep", "merge", sweep.Path);
        Assert.Equal(1, cli.Code);
        Assert.Contains("rerun shard(s) 1 of 2", cli.Err);
        // A result damaged after its marker was written is not done.
        sweep.RunShard(1, 2, cache: cache);
        // A notebook's SweepDirectory parameter: the same record as the merge, for the notebook's own config only.
        var config = sweep.Manifest.ConfigFor(sweep.Experiment, 0);
        var loaded = SweepDirectory.Load<Workbench.Experiments.InterpretationGeneralization.InterpretationGeneralizationResult>(sweep.Path, config, 0);
        AssertSame(sweep.Experiment.Describe(loaded), Assert.Single(sweep.Merge()).Outcome);
        var otherConfig = (Workbench.Experiments.InterpretationGeneralization.InterpretationGeneralizationConfig)config with { TestImages = 9 };
        Assert.Contains("planned for another config", Assert.Throws<SweepInputException>(() =>
            SweepDirectory.Load<Workbench.Experiments.InterpretationGeneralization.InterpretationGeneralizationResult>(sweep.Path, otherConfig, 0)).Message);
        File.AppendAllText(sweep.ResultPath(shard1[0]), " ");
        Assert.Equal(UnitState.Missing, sweep.StateOf(shard1[0]));
        Assert.Contains(shard1[0].Id, Assert.Throws<SweepIncompleteException>(() => sweep.Merge()).Message);
    }

    [Fact]
    public void Bad_input_is_one_line_exit_code_2_and_nothing_is_overwritten()
    {
        var dir = TempDir("bad");
        var sweep = Plan("e1", E1, Path.Combine(dir, "sweep"), shards: 2);
        string manifest = Path.Combine(sweep.Path, SweepManifest.FileName);
        string before = File.ReadAllText(manifest);
        void Refused((int Code, string Out, string Err) r, string expected)
        {
            Assert.True(r.Code == 2, $"exit {r.Code}: {r.Err}");
            Assert.Contains(expected, r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
        Refused(Cli("sweep", "plan", "e9", "--out", Path.Combine(dir, "x")), "unknown experiment 'e9'");
        Refused(Cli("sweep", "plan", "e1", "--param", "Stepz=3", "--out", Path.Combine(dir, "x")), "unknown parameter 'Stepz'");
        Refused(Cli("sweep", "plan", "e1", "--param", "TestImages=many", "--out", Path.Combine(dir, "x")), "expects a Int32, got 'many'");
        Refused(Cli("sweep", "plan", "e3", "--param", "Seeds=0", "--out", Path.Combine(dir, "x")), "config.Seeds must be >= 1; got 0.");
        Assert.False(Directory.Exists(Path.Combine(dir, "x")));
        Refused(Cli("sweep", "plan", "e1", "--out", sweep.Path), "is not empty");
        Assert.Equal(before, File.ReadAllText(manifest));
        Refused(Cli("sweep", "run", sweep.Path, "--shard-index", "2", "--shard-count", "2"), "--shard-index expects a value in [0, 1]");
        Refused(Cli("sweep", "run", sweep.Path, "--shard-index", "-1"), "--shard-index expects a value in [0, 1]");
        Assert.Empty(Directory.GetFiles(sweep.ResultsDirectory));

        // Results of another manifest in this folder: refused by run and merge, none of them touched.
        var other = Plan("e1", new Dictionary<string, string>(E1) { ["TestImages"] = "9" }, Path.Combine(dir, "other"), shards: 1);
        Assert.Equal(other.Manifest.Units.Count, sweep.Manifest.Units.Count);
        var unit = sweep.Manifest.Units[0];
        string foreignMarker = $"{{\"manifest_sha256\":\"{other.ManifestSha256}\"}}";
        File.WriteAllText(sweep.DonePath(unit), foreignMarker);
        File.WriteAllText(sweep.ResultPath(unit), "{}");
        Refused(Cli("sweep", "run", sweep.Path, "--shard-index", "0"), "holds results of another manifest");
        Refused(Cli("sweep", "merge", sweep.Path), "holds results of another manifest");
        Assert.Equal(foreignMarker, File.ReadAllText(sweep.DonePath(unit)));

        // The manifest edited after planning.
        File.WriteAllText(manifest, before.Replace("\"TestImages\":\"8\"", "\"TestImages\":\"80\""));
        Refused(Cli("sweep", "run", sweep.Path, "--shard-index", "0"), "was changed after planning");
        Refused(Cli("sweep", "merge", sweep.Path), "was changed after planning");
        Assert.False(Directory.Exists(Path.Combine(sweep.Path, "merged")));
    }

    /// <summary>The three commands end to end, in-process, with two seeds: one report (HTML, executed notebook, claims) per seed.</summary>
    [Fact]
    public void Cli_plan_run_merge_with_two_seeds_writes_a_report_per_seed()
    {
        var dir = Path.Combine(TempDir("cli"), "sweep");
        string? previous = Environment.GetEnvironmentVariable("WORKBENCH_MODELS");
        Environment.SetEnvironmentVariable("WORKBENCH_MODELS", TempDir("cli-models"));
        try
        {
            var plan = new List<string> { "sweep", "plan", "e1", "--seeds", "0,1", "--shards", "2", "--out", dir };
            foreach (var (k, v) in E1) plan.AddRange(["--param", $"{k}={v}"]);
            Assert.Equal(0, Cli(plan.ToArray()).Code);
            var sweep = SweepDirectory.Open(dir);
            Assert.Equal(2 * 5, sweep.Manifest.Units.Count);
            Assert.Equal(1, Cli("sweep", "merge", dir).Code); // nothing ran yet
            Assert.Equal(0, Cli("sweep", "run", dir, "--shard-index", "1").Code);
            Assert.Equal(0, Cli("sweep", "run", dir, "--shard-index", "0").Code);
            Assert.Equal(0, Cli("sweep", "merge", dir).Code);
            foreach (var seed in new[] { 0, 1 })
                foreach (var ext in new[] { "html", "ipynb", "claims.csv" })
                    Assert.True(File.Exists(Path.Combine(dir, "merged", $"01-interpretation-generalization-seed{seed}.{ext}")), $"seed {seed} .{ext}");
            var html = File.ReadAllText(Path.Combine(dir, "merged", "01-interpretation-generalization-seed1.html"));
            Assert.Contains("holds", html);
            Assert.Contains("sweep plan interpretation-generalization", html); // the provenance says how to reproduce it
            var seeds = sweep.Merge();
            Assert.Equal(new[] { 0, 1 }, seeds.Select(s => s.Seed));
            Assert.NotEqual(seeds[0].Outcome.Claims.Columns["measured"][0], seeds[1].Outcome.Claims.Columns["measured"][0]); // other seeds, other numbers
        }
        finally { Environment.SetEnvironmentVariable("WORKBENCH_MODELS", previous); }
    }

    [Fact]
    public void Unit_ids_are_content_hashes_and_shards_are_balanced_by_cost()
    {
        var e1 = SweepExperiments.Find("e1");
        var a = SweepManifest.Plan(e1, false, E1, [0, 1]);
        var b = SweepManifest.Plan(e1, false, E1.Reverse().ToDictionary(), [0, 1]);
        Assert.Equal(a.Units.Select(u => u.Id), b.Units.Select(u => u.Id)); // the order parameters are given in does not matter
        Assert.Equal(a.Units.Count, a.Units.Select(u => u.Id).Distinct().Count());
        var c = SweepManifest.Plan(e1, false, new Dictionary<string, string>(E1) { ["TestImages"] = "9" }, [0]);
        Assert.Empty(c.Units.Select(u => u.Id).Intersect(a.Units.Select(u => u.Id)));
        Assert.Equal(a.ToJsonl(), b.ToJsonl());
        // Read back, the manifest balances the shards exactly as the planning process did.
        var read = SweepManifest.Parse(a.ToJsonl(), "manifest.jsonl");
        for (int s = 1; s <= 4; s++)
            Assert.Equal(ShardAssignment.Assign(a.Units, s).Select(x => x.Select(u => u.Id)), ShardAssignment.Assign(read.Units, s).Select(x => x.Select(u => u.Id)));

        var units = Enumerable.Range(0, 10).Select(i => new SweepUnit(i, $"u{i}", 0, $"unit {i}", new[] { 9.0, 1, 1, 1, 5, 4, 1, 1, 3, 2 }[i], default)).ToList();
        var shards = ShardAssignment.Assign(units, 3);
        Assert.Equal(units.Select(u => u.Id).Order(), shards.SelectMany(s => s).Select(u => u.Id).Order());
        var loads = shards.Select(s => s.Sum(u => u.EstimatedSeconds)).ToList();
        Assert.True(loads.Max() - loads.Min() <= 1, string.Join(", ", loads)); // 28 s over 3: 9 / 9 / 10
        Assert.Equal(shards.Select(s => s.Select(u => u.Id)), ShardAssignment.Assign(units.AsEnumerable().Reverse().ToList(), 3).Select(s => s.Select(u => u.Id)));
    }

    [Fact]
    public void Parameters_set_nested_records_and_lists_and_name_the_known_ones()
    {
        var e3 = (Workbench.Experiments.ScoreMatching.ScoreMatchingConfig)SweepExperiments.Find("score-matching").Config(false, E3, 7);
        Assert.Equal(1, e3.Training.Epochs);
        Assert.Equal(5, e3.Sampler.Steps);
        Assert.Equal(7, e3.Seed);
        Assert.Equal(Workbench.Experiments.ScoreMatching.ScoreMatchingConfig.Quick.Training.LearningRate, e3.Training.LearningRate);
        Assert.Equal(2, Workbench.Experiments.ScoreMatching.ScoreMatchingConfig.Quick.Training.Epochs); // the preset itself is untouched
        var e1 = (Workbench.Experiments.InterpretationGeneralization.InterpretationGeneralizationConfig)SweepExperiments.Find("01").Config(false,
            new Dictionary<string, string> { ["Datasets"] = "fashion-mnist,mnist", ["SmoothGradSigmas"] = "0.1,0.2" }, 0);
        Assert.Equal(new[] { Workbench.Data.DatasetName.FashionMnist, Workbench.Data.DatasetName.Mnist }, e1.Datasets);
        Assert.Equal(new[] { 0.1, 0.2 }, e1.SmoothGradSigmas);
        var e = Assert.Throws<SweepInputException>(() => SweepExperiments.Find("e1").Config(false, new Dictionary<string, string> { ["Training"] = "x" }, 0));
        Assert.Contains("StepsPerNetwork", e.Message); // Training is computed, not a parameter: the message lists the real ones
    }

    [Fact]
    public void Generated_scheduler_files_are_consistent_with_the_plan()
    {
        var dir = Path.Combine(TempDir("scripts"), "e1-quick");
        Assert.Equal(0, Cli("sweep", "plan", "e1", "--shards", "3", "--parallel", "2", "--threads", "1", "--out", dir).Code);
        var sbatch = File.ReadAllText(Path.Combine(dir, "slurm.sbatch"));
        Assert.Contains("#SBATCH --array=0-2%2", sbatch);
        Assert.Contains("#SBATCH --cpus-per-task=1", sbatch);
        Assert.Matches(@"#SBATCH --time=\d\d:\d\d:00", sbatch);
        Assert.Contains("--shard-count 3 --shard-index \"$SLURM_ARRAY_TASK_ID\"", sbatch);
        Assert.Contains("sweep merge", File.ReadAllText(Path.Combine(dir, "merge.sbatch")));
        // The Kubernetes Job parses as YAML (python3 + PyYAML where available) and its indices and volumes agree.
        string yaml = Path.Combine(dir, "k8s-indexed-job.yaml");
        var psi = new ProcessStartInfo("python3", ["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", yaml])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        Process? p = null;
        try { p = Process.Start(psi); } catch (System.ComponentModel.Win32Exception) { }
        string json = p?.StandardOutput.ReadToEnd() ?? "";
        p?.WaitForExit();
        if (p is null || p.ExitCode != 0)
        {
            output.WriteLine($"SKIPPED the YAML parse: python3 with PyYAML is not available ({p?.StandardError.ReadToEnd().Trim() ?? "no python3"})");
            return;
        }
        var job = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        Assert.Equal("Indexed", (string?)job["spec"]!["completionMode"]);
        Assert.Equal(3, (int)job["spec"]!["completions"]!);
        Assert.Equal(2, (int)job["spec"]!["parallelism"]!);
        var pod = job["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;
        Assert.Equal("3", (string?)container["command"]![5]);
        Assert.Equal((string?)pod["volumes"]![0]!["name"], (string?)container["volumeMounts"]![0]!["name"]);
        Assert.StartsWith((string?)container["volumeMounts"]![0]!["mountPath"], (string?)container["command"]![3]);
    }

    /// <summary>
    /// Two processes run the same shard at once, with one empty model cache and one sweep folder: both train the same networks
    /// and write the same results. Neither crashes, every cache entry loads (checksums intact) and the merge equals one process.
    /// </summary>
    [Fact]
    public async Task Two_processes_writing_the_same_cache_entries_and_results_never_corrupt_them()
    {
        var cacheDir = TempDir("concurrent-cache");
        var sweep = Plan("e1", E1, TempDir("concurrent"), shards: 1);
        string cli = Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll");
        Process Start()
        {
            var psi = new ProcessStartInfo("dotnet", [cli, "sweep", "run", sweep.Path, "--shard-index", "0"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["WORKBENCH_MODELS"] = cacheDir;
            return Process.Start(psi)!;
        }
        var (a, b) = (Start(), Start());
        var texts = await Task.WhenAll(a.StandardOutput.ReadToEndAsync(), a.StandardError.ReadToEndAsync(), b.StandardOutput.ReadToEndAsync(), b.StandardError.ReadToEndAsync());
        await Task.WhenAll(a.WaitForExitAsync(), b.WaitForExitAsync());
        var outputs = new[] { (Out: texts[0], Err: texts[1]), (Out: texts[2], Err: texts[3]) };
        for (int i = 0; i < 2; i++) output.WriteLine($"process {i}: exit {(i == 0 ? a : b).ExitCode}\n{outputs[i].Out.Split('\n').LastOrDefault(l => l.StartsWith("shard"))}\n{outputs[i].Err}");
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(0, b.ExitCode);
        Assert.DoesNotContain("unreadable", outputs[0].Err + outputs[1].Err); // no entry was found corrupt and retrained
        Assert.Empty(Directory.GetFiles(cacheDir, "*.tmp"));
        var merged = Assert.Single(sweep.Merge());
        AssertSame(InProcess(sweep, new ModelCache(cacheDir)), merged.Outcome);
        Assert.DoesNotContain(Directory.GetFiles(cacheDir, "*.json"), f => new FileInfo(f).Length == 0);
    }
}
