using Microsoft.Data.Analysis;
using Workbench.Data;
using Workbench.Experiments.InterpretationGeneralization;
using Workbench.Experiments.ScoreMatching;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Sweeps;

/// <summary>The experiments that can be swept, by name or alias.</summary>
public static class SweepExperiments
{
    public static IReadOnlyList<SweepExperiment> All { get; } = [new InterpretationGeneralizationSweep(), new ScoreMatchingSweep()];

    public static SweepExperiment Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase) || e.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase))
        ?? throw new SweepInputException($"unknown experiment '{name}'; expected one of {string.Join(", ", All.Select(e => $"{e.Name} ({string.Join(", ", e.Aliases)})"))}");

    // Costs on the reference machine (2 cores shared with other work, 1 torch thread), from E1 quick's units (200 steps of a
    // network ~6 s; its maps of 100 test images ~15 s for ~10,800 image passes): one Adam step of the small CNN at batch 32,
    // one forward+backward of one 28×28 image (the unit of the attribution methods and of logit ascent), one SGD step at
    // batch 128 with and without a score-matching-type penalty (Hessian-vector products). Estimates set the shard balance
    // and Slurm's --time (3× the slowest shard + 5 min), so they err on the slow side.
    internal const double CnnStepSeconds = 0.02, ImagePassSeconds = 0.001, SgdStep128Seconds = 0.08, PenaltyStepFactor = 4, AscentStepSeconds = 0.001;
}

/// <summary>E1 (notebook 01) as a sweep: one unit per network pair (and per generalization-gap measurement).</summary>
public sealed class InterpretationGeneralizationSweep : SweepExperiment<InterpretationGeneralizationConfig, InterpretationGeneralizationUnit, InterpretationGeneralizationUnitResult, InterpretationGeneralizationResult>
{
    public override string Name => "interpretation-generalization";
    public override IReadOnlyList<string> Aliases => ["e1", "01"];
    public override string Notebook => "notebooks/01-interpretation-generalization.ipynb";
    protected override InterpretationGeneralizationConfig PresetOf(bool full) => full ? new InterpretationGeneralizationConfig() : InterpretationGeneralizationConfig.Quick;
    protected override IReadOnlyList<InterpretationGeneralizationUnit> Units(InterpretationGeneralizationConfig config) => InterpretationGeneralizationExperiment.Units(config);
    protected override string Label(InterpretationGeneralizationUnit unit) => unit.ToString();

    protected override double EstimatedSeconds(InterpretationGeneralizationConfig c, InterpretationGeneralizationUnit u)
    {
        int networks = u.Variant switch { InterpretationGeneralizationUnit.Gap => u.K, "pretrained" => 3, _ => 2 };
        // Passes per image of both networks: gradient, IG, SmoothGrad per σ, sparsified SmoothGrad, DeepLIFT (2), Grad-CAM.
        double passes = 2 * (1 + c.IgSteps + c.SmoothGradSamples * (c.SmoothGradSigmas.Count + 1) + 3);
        return 5 + networks * c.StepsPerNetwork * SweepExperiments.CnnStepSeconds + c.TestImages * passes * SweepExperiments.ImagePassSeconds;
    }

    protected override IDisposable ContextOf(InterpretationGeneralizationConfig config, IProgressSink progress, ModelCache cache) => new LoadedDatasets(progress);

    protected override InterpretationGeneralizationUnitResult Run(InterpretationGeneralizationConfig config, InterpretationGeneralizationUnit unit, IDisposable context, IProgressSink progress, ModelCache cache) =>
        InterpretationGeneralizationExperiment.RunUnit(config, unit, (LoadedDatasets)context, progress, cache);

    protected override InterpretationGeneralizationResult Assemble(InterpretationGeneralizationConfig config, IReadOnlyList<InterpretationGeneralizationUnitResult> results, TimeSpan duration) =>
        InterpretationGeneralizationExperiment.Assemble(config, results, duration);

    protected override IReadOnlyList<SweepSection> Sections(InterpretationGeneralizationResult r) =>
    [
        new("Consistency vs split factor", Chart: r.ConsistencyVsSplit), new("Summary", r.Summary), new("Per pair", r.PerPair),
        new("Consistency vs prediction agreement", Chart: r.ConsistencyVsAgreement), new("Consistency vs SmoothGrad σ", Chart: r.ConsistencyVsSigma),
        new("Example maps", Chart: r.ExampleMaps), new("Generalization gap (Remark 1)", r.GeneralizationGap), new("Generalization gap chart", Chart: r.GeneralizationGapChart),
    ];

    protected override DataFrame Claims(InterpretationGeneralizationResult result) => result.Claims;
}

/// <summary>E3 (notebook 03) as a sweep: one unit per classifier (dataset, seed, λ, regularizer).</summary>
public sealed class ScoreMatchingSweep : SweepExperiment<ScoreMatchingConfig, ScoreMatchingUnit, ScoreMatchingUnitResult, ScoreMatchingResult>
{
    public override string Name => "score-matching";
    public override IReadOnlyList<string> Aliases => ["e3", "03"];
    public override string Notebook => "notebooks/03-score-matching.ipynb";
    protected override ScoreMatchingConfig PresetOf(bool full) => full ? ScoreMatchingConfig.Full : ScoreMatchingConfig.Quick;
    protected override IReadOnlyList<ScoreMatchingUnit> Units(ScoreMatchingConfig config) => ScoreMatchingExperiment.Units(config);
    protected override string Label(ScoreMatchingUnit unit) => unit.ToString();

    protected override double EstimatedSeconds(ScoreMatchingConfig c, ScoreMatchingUnit u)
    {
        double steps = c.Training.TotalSteps(c.TrainImages) * (c.Training.BatchSize / 128.0);
        double train = steps * SweepExperiments.SgdStep128Seconds * (u.Variant == "baseline" ? 1 : SweepExperiments.PenaltyStepFactor);
        double sampling = c.GanTestSamples * c.Sampler.Steps * SweepExperiments.AscentStepSeconds;
        double perturbation = c.EvaluationImages * (4 * 20 + c.NoiseLevels.Count) * SweepExperiments.ImagePassSeconds;
        return 5 + train + sampling + perturbation;
    }

    protected override IDisposable ContextOf(ScoreMatchingConfig config, IProgressSink progress, ModelCache cache) => new ScoreMatchingInputs(config, progress, cache);

    protected override ScoreMatchingUnitResult Run(ScoreMatchingConfig config, ScoreMatchingUnit unit, IDisposable context, IProgressSink progress, ModelCache cache) =>
        ScoreMatchingExperiment.RunUnit(config, unit, (ScoreMatchingInputs)context, progress, cache);

    protected override ScoreMatchingResult Assemble(ScoreMatchingConfig config, IReadOnlyList<ScoreMatchingUnitResult> results, TimeSpan duration) =>
        ScoreMatchingExperiment.Assemble(config, results, duration);

    protected override IReadOnlyList<SweepSection> Sections(ScoreMatchingResult r) =>
    [
        new("Models", r.Models), new("Summary (mean ± half-range over seeds)", r.Summary), new("Samples", Chart: r.Samples), new("Gradient maps", Chart: r.GradientMaps),
        new("Pixel perturbation", r.PixelPerturbation), new("Pixel perturbation curves", Chart: r.PixelPerturbationCurves),
        new("Density ratios", r.DensityRatios), new("Density ratio chart", Chart: r.DensityRatioChart),
    ];

    protected override DataFrame Claims(ScoreMatchingResult result) => result.Claims;
}
