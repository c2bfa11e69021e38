using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Sweeps;

/// <summary>What a shard did: the units it ran, and those it skipped because they were already done.</summary>
public sealed record ShardReport(int ShardIndex, int ShardCount, IReadOnlyList<SweepUnit> Ran, IReadOnlyList<SweepUnit> Skipped, TimeSpan Duration);

/// <summary>
/// A sweep's folder on a filesystem every task sees: manifest.jsonl and manifest.sha256 (from plan), results/&lt;id&gt;.json
/// and results/&lt;id&gt;.done (from the shards), logs/ (the scheduler's output) and merged/ (from merge). Opening it checks
/// that the manifest is the one planned (its SHA-256 against manifest.sha256).
/// </summary>
public sealed class SweepDirectory
{
    public string Path { get; }
    public SweepManifest Manifest { get; }
    public string ManifestSha256 { get; }
    public SweepExperiment Experiment { get; }
    public string ResultsDirectory => System.IO.Path.Combine(Path, "results");

    SweepDirectory(string path, SweepManifest manifest, string sha, SweepExperiment experiment) =>
        (Path, Manifest, ManifestSha256, Experiment) = (path, manifest, sha, experiment);

    /// <summary>Writes a planned manifest into a new (or empty) folder; refuses a folder that already holds a sweep.</summary>
    public static SweepDirectory Create(string path, SweepManifest manifest)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full)) throw new SweepInputException($"--out '{full}' is a file; expected a new or empty folder");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new SweepInputException($"--out '{full}' is not empty; plan into a new folder (nothing was overwritten)");
        AtomicFile.EnsureWritableDirectory(full, "The sweep folder");
        string text = manifest.ToJsonl();
        string sha = SweepJson.Sha256(System.Text.Encoding.UTF8.GetBytes(text));
        AtomicFile.WriteAllText(System.IO.Path.Combine(full, SweepManifest.FileName), text);
        AtomicFile.WriteAllText(System.IO.Path.Combine(full, SweepManifest.HashFileName), sha + "\n");
        Directory.CreateDirectory(System.IO.Path.Combine(full, "results"));
        Directory.CreateDirectory(System.IO.Path.Combine(full, "logs"));
        return new SweepDirectory(full, manifest, sha, SweepExperiments.Find(manifest.Experiment));
    }

    public static SweepDirectory Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        string manifestPath = System.IO.Path.Combine(full, SweepManifest.FileName), hashPath = System.IO.Path.Combine(full, SweepManifest.HashFileName);
        if (!File.Exists(manifestPath)) throw new SweepInputException($"'{full}' holds no {SweepManifest.FileName}; expected a folder made by 'workbench sweep plan'");
        if (!File.Exists(hashPath)) throw new SweepInputException($"'{full}' holds no {SweepManifest.HashFileName}; the folder was not made by 'workbench sweep plan'");
        var bytes = File.ReadAllBytes(manifestPath);
        string sha = SweepJson.Sha256(bytes), planned = File.ReadAllText(hashPath).Trim();
        if (sha != planned)
            throw new SweepInputException($"'{manifestPath}' was changed after planning (SHA-256 {sha[..12]}…, planned {planned[..Math.Min(12, planned.Length)]}…); plan again into a new folder");
        SweepManifest manifest;
        try { manifest = SweepManifest.Parse(System.Text.Encoding.UTF8.GetString(bytes), manifestPath); }
        catch (InvalidDataException e) { throw new SweepInputException(e.Message); }
        return new SweepDirectory(full, manifest, sha, SweepExperiments.Find(manifest.Experiment));
    }

    public string ResultPath(SweepUnit unit) => System.IO.Path.Combine(ResultsDirectory, unit.Id + ".json");
    public string DonePath(SweepUnit unit) => System.IO.Path.Combine(ResultsDirectory, unit.Id + ".done");

    /// <summary>The state of a unit: done (for this manifest, with its result intact), missing, or done for another manifest (mismatched).</summary>
    public UnitState StateOf(SweepUnit unit)
    {
        string done = DonePath(unit), result = ResultPath(unit);
        if (!File.Exists(done)) return UnitState.Missing;
        try
        {
            var marker = JsonNode.Parse(File.ReadAllText(done))!.AsObject();
            if ((string?)marker["manifest_sha256"] != ManifestSha256) return UnitState.Mismatched;
            // A result replaced or truncated after its marker was written is not done.
            if (!File.Exists(result) || (string?)marker["result_sha256"] != SweepJson.Sha256(File.ReadAllBytes(result))) return UnitState.Missing;
            return UnitState.Done;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException) { return UnitState.Missing; }
    }

    /// <summary>
    /// Runs the units of shard <paramref name="shardIndex"/> of <paramref name="shardCount"/> that are not done yet, each result
    /// written atomically and then its .done marker; a rerun or a retried task skips what is done, so shards are idempotent.
    /// </summary>
    public ShardReport RunShard(int shardIndex, int shardCount, IProgressSink? progress = null, ModelCache? cache = null, TextWriter? log = null)
    {
        if (shardCount < 1) throw new SweepInputException($"--shard-count expects >= 1, got {shardCount}");
        if (shardIndex < 0 || shardIndex >= shardCount)
            throw new SweepInputException($"--shard-index expects a value in [0, {shardCount - 1}] (shard count {shardCount}), got {shardIndex}");
        var mismatched = Manifest.Units.Where(u => StateOf(u) == UnitState.Mismatched).ToList();
        if (mismatched.Count > 0)
            throw new SweepInputException($"'{ResultsDirectory}' holds results of another manifest ({mismatched.Count} unit(s), e.g. {mismatched[0].Id} {mismatched[0].Label}); use a new sweep folder (nothing was overwritten)");
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        log ??= TextWriter.Null;
        var clock = Stopwatch.StartNew();
        var mine = ShardAssignment.Assign(Manifest.Units, shardCount)[shardIndex];
        var skipped = mine.Where(u => StateOf(u) == UnitState.Done).ToList();
        var todo = mine.Except(skipped).ToList();
        log.WriteLine($"shard {shardIndex}/{shardCount}: {mine.Count} unit(s), {skipped.Count} already done, {todo.Count} to run (estimated {todo.Sum(u => u.EstimatedSeconds):F0} s)");
        TorchRuntime.SetThreads(Manifest.Threads);
        var ran = new List<SweepUnit>();
        foreach (var group in todo.GroupBy(u => u.Seed))
        {
            var config = Manifest.ConfigFor(Experiment, group.Key);
            using var context = Experiment.Context(config, progress, cache);
            foreach (var unit in group)
            {
                var unitClock = Stopwatch.StartNew();
                log.WriteLine($"  unit {unit.Index} {unit.Id} {unit.Label}: running");
                string json = Experiment.RunUnit(config, unit.Unit, context, progress.Within(unit.Label), cache);
                AtomicFile.WriteAllText(ResultPath(unit), json);
                AtomicFile.WriteAllText(DonePath(unit), Marker(unit, json, unitClock.Elapsed, shardIndex, shardCount).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                log.WriteLine($"  unit {unit.Index} {unit.Id} {unit.Label}: done in {unitClock.Elapsed.TotalSeconds:F1} s (estimated {unit.EstimatedSeconds:F0} s)");
                ran.Add(unit);
            }
        }
        return new ShardReport(shardIndex, shardCount, ran, skipped, clock.Elapsed);
    }

    JsonObject Marker(SweepUnit unit, string json, TimeSpan took, int shardIndex, int shardCount)
    {
        var versions = new JsonObject();
        foreach (var (k, v) in TorchRuntime.Versions()) versions[k] = v;
        return new JsonObject
        {
            ["unit_id"] = unit.Id, ["label"] = unit.Label, ["manifest_sha256"] = ManifestSha256, ["result_sha256"] = SweepJson.Sha256(System.Text.Encoding.UTF8.GetBytes(json)),
            ["git_commit"] = GitInfo.BuildCommit(), ["versions"] = versions,
            ["machine"] = $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            ["shard"] = $"{shardIndex}/{shardCount}",
            ["scheduler_job"] = SchedulerJob(),
            ["seconds"] = Math.Round(took.TotalSeconds, 2), ["finished_utc"] = DateTime.UtcNow.ToString("O"),
        };
    }

    /// <summary>
    /// The experiment's result record assembled from the merged sweep at <paramref name="path"/> for seed <paramref name="seed"/>,
    /// for a notebook that renders a sweep instead of computing (its <c>SweepDirectory</c> parameter). The sweep must have been
    /// planned for <paramref name="expected"/> (the notebook's config): otherwise the notebook's text and its numbers would disagree.
    /// </summary>
    public static TResult Load<TResult>(string path, object expected, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var sweep = Open(path);
        if (!sweep.Manifest.Seeds.Contains(seed))
            throw new SweepInputException($"the sweep '{sweep.Path}' has seed(s) {string.Join(", ", sweep.Manifest.Seeds)}; this notebook asks for seed {seed}");
        var planned = sweep.Manifest.ConfigFor(sweep.Experiment, seed);
        string a = SweepJson.Serialize(planned), b = SweepJson.Serialize(expected);
        if (planned.GetType() != expected.GetType() || a != b)
            throw new SweepInputException($"the sweep '{sweep.Path}' was planned for another config ({(sweep.Manifest.Full ? "full" : "quick")} mode" +
                $"{string.Concat(sweep.Manifest.Parameters.Select(p => $", {p.Key}={p.Value}"))}) than this notebook's; run the notebook with the same mode and parameters, or plan the sweep for them");
        var outcome = sweep.Merge().Single(o => o.Seed == seed).Outcome;
        return outcome.Result is TResult typed ? typed
            : throw new SweepInputException($"the sweep '{sweep.Path}' is of {sweep.Experiment.Name}, whose result is a {outcome.Result.GetType().Name}, not a {typeof(TResult).Name}");
    }

    /// <summary>Which scheduler task wrote a result: Slurm "array job_task" (or job id), Kubernetes "pod (index i)", else "none".</summary>
    static string SchedulerJob()
    {
        string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
        if (Env("SLURM_ARRAY_JOB_ID") is { } array) return $"slurm {array}_{Env("SLURM_ARRAY_TASK_ID")}";
        if (Env("SLURM_JOB_ID") is { } job) return $"slurm {job}";
        if (Env("JOB_COMPLETION_INDEX") is { } index) return $"kubernetes {Env("HOSTNAME") ?? "pod"} (index {index})";
        return "none";
    }

    /// <summary>
    /// Checks every unit is done for this manifest and assembles each seed's result from the unit results, in manifest
    /// order — the record the single-process Run returns. Results of another manifest: <see cref="SweepInputException"/>;
    /// units not done: <see cref="SweepIncompleteException"/> naming them and the shards that hold them.
    /// </summary>
    public IReadOnlyList<(int Seed, SweepOutcome Outcome)> Merge()
    {
        var states = Manifest.Units.Select(u => (Unit: u, State: StateOf(u))).ToList();
        var mismatched = states.Where(s => s.State == UnitState.Mismatched).Select(s => s.Unit).ToList();
        if (mismatched.Count > 0)
            throw new SweepInputException($"'{ResultsDirectory}' holds results of another manifest for {mismatched.Count} unit(s): {string.Join(", ", mismatched.Take(5).Select(u => $"{u.Id} ({u.Label})"))}; use a new sweep folder");
        var missing = states.Where(s => s.State == UnitState.Missing).Select(s => s.Unit).ToList();
        if (missing.Count > 0)
        {
            var shards = ShardAssignment.Assign(Manifest.Units, Manifest.Shards);
            var missingIds = missing.Select(u => u.Id).ToHashSet();
            var rerun = Enumerable.Range(0, shards.Count).Where(i => shards[i].Any(u => missingIds.Contains(u.Id))).ToList();
            throw new SweepIncompleteException($"{missing.Count} of {Manifest.Units.Count} unit(s) not done: {string.Join("; ", missing.Select(u => $"{u.Index} {u.Id} ({u.Label})"))}; " +
                $"rerun shard(s) {string.Join(",", rerun)} of {Manifest.Shards} (Slurm: sbatch --array={string.Join(",", rerun)} {System.IO.Path.Combine(Path, "slurm.sbatch")})", missing, rerun);
        }
        var outcomes = new List<(int, SweepOutcome)>();
        foreach (var seed in Manifest.Seeds)
        {
            var units = Manifest.Units.Where(u => u.Seed == seed).ToList();
            var results = units.Select(u => File.ReadAllText(ResultPath(u))).ToList();
            var seconds = units.Sum(u => JsonNode.Parse(File.ReadAllText(DonePath(u)))?["seconds"]?.GetValue<double>() ?? 0);
            outcomes.Add((seed, Experiment.Assemble(Manifest.ConfigFor(Experiment, seed), results, TimeSpan.FromSeconds(seconds))));
        }
        return outcomes;
    }
}

public enum UnitState { Missing, Done, Mismatched }
