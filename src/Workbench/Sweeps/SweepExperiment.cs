using System.Text.Json;
using Microsoft.Data.Analysis;
using Plotly.NET;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Sweeps;

/// <summary>One output of an assembled experiment, as its notebook shows it: a table or a figure, under a heading.</summary>
public sealed record SweepSection(string Title, DataFrame? Table = null, GenericChart? Chart = null);

/// <summary>An experiment assembled from its units: the typed result record (as the single-process Run returns it), its
/// sections in notebook order and its claims table.</summary>
public sealed record SweepOutcome(object Result, IReadOnlyList<SweepSection> Sections, DataFrame Claims);

/// <summary>A unit of a plan before it gets its manifest index and id: its coordinates (JSON), a label and its estimated cost.</summary>
public sealed record PlannedUnit(JsonElement Unit, string Label, double EstimatedSeconds);

/// <summary>
/// An experiment that can be swept: its config expands into independent units, each unit runs anywhere and its result
/// travels as JSON, and the unit results assemble into the experiment's result. The typed form is
/// <see cref="SweepExperiment{TConfig, TUnit, TUnitResult, TResult}"/>; <see cref="SweepExperiments"/> lists them.
/// </summary>
public abstract class SweepExperiment
{
    /// <summary>The name on the command line (e.g. "interpretation-generalization").</summary>
    public abstract string Name { get; }
    /// <summary>Other accepted names (e.g. "e1", "01").</summary>
    public abstract IReadOnlyList<string> Aliases { get; }
    /// <summary>The notebook of the experiment (its report has the same sections).</summary>
    public abstract string Notebook { get; }
    public abstract Type ConfigType { get; }

    /// <summary>The config a plan describes: the notebook's quick or full preset, the parameters applied, then the seed.</summary>
    public object Config(bool full, IReadOnlyDictionary<string, string> parameters, int seed)
    {
        var config = ConfigParameters.Apply(Preset(full), parameters);
        return ConfigParameters.Apply(config, new Dictionary<string, string> { ["Seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    protected abstract object Preset(bool full);
    public abstract IReadOnlyList<PlannedUnit> Expand(object config);
    /// <summary>What the units of one config share in one process (loaded datasets, a judge network); disposed after the shard.</summary>
    public abstract IDisposable Context(object config, IProgressSink progress, ModelCache cache);
    public abstract string RunUnit(object config, JsonElement unit, IDisposable context, IProgressSink progress, ModelCache cache);
    public abstract SweepOutcome Assemble(object config, IReadOnlyList<string> unitResults, TimeSpan duration);
    /// <summary>A result record of the experiment (from its single-process Run, or assembled) as sections and claims.</summary>
    public abstract SweepOutcome Describe(object result);
}

/// <summary>The typed adapter: an experiment's Units / RunUnit / Assemble steps, which its single-process Run composes the same way.</summary>
public abstract class SweepExperiment<TConfig, TUnit, TUnitResult, TResult> : SweepExperiment where TConfig : class
{
    public override Type ConfigType => typeof(TConfig);
    protected abstract TConfig PresetOf(bool full);
    protected abstract IReadOnlyList<TUnit> Units(TConfig config);
    protected abstract string Label(TUnit unit);
    /// <summary>Estimated seconds of one unit on one core of the reference machine (for shard balance and --time).</summary>
    protected abstract double EstimatedSeconds(TConfig config, TUnit unit);
    protected abstract IDisposable ContextOf(TConfig config, IProgressSink progress, ModelCache cache);
    protected abstract TUnitResult Run(TConfig config, TUnit unit, IDisposable context, IProgressSink progress, ModelCache cache);
    protected abstract TResult Assemble(TConfig config, IReadOnlyList<TUnitResult> results, TimeSpan duration);
    protected abstract IReadOnlyList<SweepSection> Sections(TResult result);
    protected abstract DataFrame Claims(TResult result);

    protected override object Preset(bool full) => PresetOf(full);

    public override IReadOnlyList<PlannedUnit> Expand(object config) =>
        Units((TConfig)config).Select(u => new PlannedUnit(JsonSerializer.SerializeToElement(u, SweepJson.Options), Label(u), EstimatedSeconds((TConfig)config, u))).ToList();

    public override IDisposable Context(object config, IProgressSink progress, ModelCache cache) => ContextOf((TConfig)config, progress, cache);

    public override string RunUnit(object config, JsonElement unit, IDisposable context, IProgressSink progress, ModelCache cache) =>
        SweepJson.Serialize(Run((TConfig)config, unit.Deserialize<TUnit>(SweepJson.Options)!, context, progress, cache));

    public override SweepOutcome Assemble(object config, IReadOnlyList<string> unitResults, TimeSpan duration)
    {
        var result = Assemble((TConfig)config, unitResults.Select((r, i) => SweepJson.Deserialize<TUnitResult>(r, $"unit result {i}")).ToList(), duration);
        return Describe(result!);
    }

    public override SweepOutcome Describe(object result) => new(result, Sections((TResult)result), Claims((TResult)result));
}
