using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Runtime;

namespace Workbench.Sweeps;

/// <summary>
/// One unit of a manifest: its position, its id (a content hash of the experiment, mode, parameters, seed and the unit's
/// coordinates, so the same work always has the same id and different work never shares one), the base seed of its config
/// (the unit's own seeds are functions of it and of the coordinates, never of the order units run in), a label, and its
/// estimated cost.
/// </summary>
public sealed record SweepUnit(int Index, string Id, int Seed, string Label, double EstimatedSeconds, JsonElement Unit);

/// <summary>
/// A planned sweep: what `workbench sweep plan` writes to manifest.jsonl (a header line, then one line per unit in protocol
/// order) and what `run` and `merge` read back. Plan records the SHA-256 of the file's bytes in
/// manifest.sha256 and every unit's .done marker, so an edited manifest or results of another manifest are refused.
/// </summary>
public sealed record SweepManifest(string Experiment, bool Full, IReadOnlyDictionary<string, string> Parameters, IReadOnlyList<int> Seeds,
    int Threads, int Shards, int Parallel, IReadOnlyList<SweepUnit> Units)
{
    public const string FileName = "manifest.jsonl", HashFileName = "manifest.sha256";

    /// <summary>Expands an experiment's config (per seed) into the manifest's units.</summary>
    public static SweepManifest Plan(SweepExperiment experiment, bool full, IReadOnlyDictionary<string, string> parameters, IReadOnlyList<int> seeds,
        int threads = 1, int? shards = null, int parallel = 2)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        if (seeds.Count == 0) throw new SweepInputException("--seeds is empty; give at least one seed");
        if (seeds.Distinct().Count() != seeds.Count) throw new SweepInputException($"--seeds repeats a seed: {string.Join(",", seeds)}");
        if (threads < 1) throw new SweepInputException($"--threads expects >= 1, got {threads}");
        if (parallel < 1) throw new SweepInputException($"--parallel expects >= 1, got {parallel}");
        var sorted = new SortedDictionary<string, string>(parameters.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
        var units = new List<SweepUnit>();
        foreach (var seed in seeds)
        {
            object config;
            try { config = experiment.Config(full, sorted, seed); }
            catch (ArgumentException e) { throw new SweepInputException(e.Message.Split('\n')[0]); }
            foreach (var u in experiment.Expand(config))
            {
                string identity = $"{experiment.Name}|{(full ? "full" : "quick")}|{string.Join(";", sorted.Select(p => $"{p.Key}={p.Value}"))}|seed={seed}|{u.Unit.GetRawText()}";
                // Rounded as the file stores it: every process must balance the shards from the same numbers.
                units.Add(new SweepUnit(units.Count, SweepJson.Sha256(identity)[..16], seed, u.Label, Math.Round(u.EstimatedSeconds, 1), u.Unit));
            }
        }
        if (units.Count == 0) throw new SweepInputException($"the config of {experiment.Name} expands to no units; check the parameters");
        int s = shards ?? Math.Min(units.Count, 3);
        if (s < 1 || s > units.Count) throw new SweepInputException($"--shards expects a value in [1, {units.Count}] (the number of units), got {s}");
        return new SweepManifest(experiment.Name, full, sorted, seeds.ToList(), threads, s, Math.Min(parallel, s), units);
    }

    public string ToJsonl()
    {
        var sb = new StringBuilder();
        var header = new JsonObject
        {
            ["kind"] = "sweep", ["experiment"] = Experiment, ["mode"] = Full ? "full" : "quick",
            ["parameters"] = new JsonObject(Parameters.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
            ["seeds"] = new JsonArray(Seeds.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
            ["threads"] = Threads, ["shards"] = Shards, ["parallel"] = Parallel, ["units"] = Units.Count,
        };
        sb.Append(header.ToJsonString()).Append('\n');
        foreach (var u in Units)
            sb.Append(new JsonObject
            {
                ["kind"] = "unit", ["index"] = u.Index, ["id"] = u.Id, ["seed"] = u.Seed, ["label"] = u.Label,
                ["estimated_seconds"] = u.EstimatedSeconds, ["unit"] = JsonNode.Parse(u.Unit.GetRawText()),
            }.ToJsonString()).Append('\n');
        return sb.ToString();
    }

    /// <summary>Reads a manifest; any malformed line is an <see cref="InvalidDataException"/> naming the file and line.</summary>
    public static SweepManifest Parse(string text, string path)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 2) throw new InvalidDataException($"'{path}' is not a sweep manifest: it has {lines.Length} line(s); expected a header and units.");
        try
        {
            var h = JsonNode.Parse(lines[0])!.AsObject();
            if ((string?)h["kind"] != "sweep") throw new InvalidDataException($"'{path}' line 1 is not a sweep header (kind != sweep).");
            var units = new List<SweepUnit>();
            for (int i = 1; i < lines.Length; i++)
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var r = doc.RootElement;
                units.Add(new SweepUnit(r.GetProperty("index").GetInt32(), r.GetProperty("id").GetString()!, r.GetProperty("seed").GetInt32(),
                    r.GetProperty("label").GetString()!, r.GetProperty("estimated_seconds").GetDouble(), r.GetProperty("unit").Clone()));
                if (units[^1].Index != i - 1) throw new InvalidDataException($"'{path}' line {i + 1}: unit index {units[^1].Index}, expected {i - 1}.");
            }
            return new SweepManifest((string)h["experiment"]!, (string)h["mode"]! == "full",
                h["parameters"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!), h["seeds"]!.AsArray().Select(x => (int)x!).ToList(),
                (int)h["threads"]!, (int)h["shards"]!, (int)h["parallel"]!, units);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is not a valid sweep manifest: {e.Message}");
        }
    }

    /// <summary>The config of one seed, rebuilt exactly as at planning (the manifest stores the recipe, not the object).</summary>
    public object ConfigFor(SweepExperiment experiment, int seed) => experiment.Config(Full, Parameters, seed);

    /// <summary>Estimated wall seconds of the slowest of <paramref name="shards"/> shards (balanced by <see cref="ShardAssignment"/>).</summary>
    public double LongestShardSeconds(int shards) => ShardAssignment.Assign(Units, shards).Max(s => s.Sum(u => u.EstimatedSeconds));

    internal static string Invariant(double x) => x.ToString(CultureInfo.InvariantCulture);
}
