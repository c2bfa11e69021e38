namespace Workbench.Training;

public enum OptimizerKind { Sgd, Adam }

/// <summary>How the learning rate moves over training (evaluated once per optimizer step).</summary>
public enum LrScheduleKind
{
    /// <summary>The base rate throughout.</summary>
    Constant,
    /// <summary>Multiply by <see cref="TrainOptions.LrDecay"/> every <see cref="TrainOptions.LrStepEpochs"/> epochs.</summary>
    Step,
    /// <summary>Cosine annealing from the base rate to 0 over all steps.</summary>
    Cosine,
    /// <summary>Linear warm-up over the first 10% of steps, then cosine annealing (one-cycle style).</summary>
    WarmupCosine,
}

/// <summary>
/// Everything that decides a training run's result. Part of the model-cache key, so every field
/// that changes the trained weights belongs here (and nothing that does not, like progress).
/// </summary>
public sealed record TrainOptions
{
    public int Epochs { get; init; } = 1;
    /// <summary>
    /// When &gt; 0, the run is exactly this many optimizer steps (the last pass over the data may be partial) and
    /// <see cref="Epochs"/> is ignored: networks trained on sets of different sizes then get the same optimisation
    /// budget (seed 000's split factors must not confound data size with the number of steps).
    /// </summary>
    public long Steps { get; init; }
    public int BatchSize { get; init; } = 32;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>SGD momentum (ignored by Adam).</summary>
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 0.0;
    public LrScheduleKind Schedule { get; init; } = LrScheduleKind.Constant;
    public int LrStepEpochs { get; init; } = 1;
    public double LrDecay { get; init; } = 0.1;
    /// <summary>Seeds the model initialisation (when the trainer builds it) and the batch order.</summary>
    public int Seed { get; init; }
    /// <summary>An extra loss term, weighted by <see cref="PenaltyWeight"/> (the lambda of seed 001).</summary>
    public IPenalty? Penalty { get; init; }
    public double PenaltyWeight { get; init; } = 1.0;
    /// <summary>Evaluate on the test set after every epoch (else only after the last).</summary>
    public bool EvaluateEveryEpoch { get; init; } = true;

    /// <summary>Throws naming the first field out of range.</summary>
    public TrainOptions Validate()
    {
        static void Check(bool ok, string name, string expected, object actual)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, actual, $"{name} must be {expected}, got {actual}.");
        }
        Check(Epochs >= 1, nameof(Epochs), ">= 1", Epochs);
        Check(Steps >= 0, nameof(Steps), ">= 0 (0 = train for Epochs)", Steps);
        Check(BatchSize >= 1, nameof(BatchSize), ">= 1", BatchSize);
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), "a finite number > 0", LearningRate);
        Check(Momentum >= 0 && Momentum < 1, nameof(Momentum), "in [0, 1)", Momentum);
        Check(WeightDecay >= 0, nameof(WeightDecay), ">= 0", WeightDecay);
        Check(LrStepEpochs >= 1, nameof(LrStepEpochs), ">= 1", LrStepEpochs);
        Check(LrDecay > 0 && LrDecay <= 1, nameof(LrDecay), "in (0, 1]", LrDecay);
        Check(double.IsFinite(PenaltyWeight), nameof(PenaltyWeight), "finite", PenaltyWeight);
        return this;
    }

    /// <summary>Canonical text of every field, for cache keys.</summary>
    public string Key =>
        FormattableString.Invariant(
            $"epochs={(Steps > 0 ? $"steps{Steps}" : Epochs)};batch={BatchSize};opt={Optimizer};lr={LearningRate:R};mom={Momentum:R};wd={WeightDecay:R};sched={Schedule};step={LrStepEpochs};decay={LrDecay:R};seed={Seed};penalty={Penalty?.Key ?? "none"};lambda={PenaltyWeight:R}");

    /// <summary>Optimizer steps of the whole run on a training set of <paramref name="examples"/>.</summary>
    public long TotalSteps(long examples) => Steps > 0 ? Steps : (examples + BatchSize - 1) / BatchSize * Epochs;

    /// <summary>Passes over the data the run starts (the last one partial when <see cref="Steps"/> does not fill it).</summary>
    public int EpochCount(long examples)
    {
        long perEpoch = (examples + BatchSize - 1) / BatchSize;
        return (int)((TotalSteps(examples) + perEpoch - 1) / perEpoch);
    }

    /// <summary>The learning rate at a step (0-based) of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(long step, long stepsPerEpoch, long totalSteps)
    {
        double progress = totalSteps <= 1 ? 0 : (double)step / totalSteps;
        return Schedule switch
        {
            LrScheduleKind.Constant => LearningRate,
            LrScheduleKind.Step => LearningRate * Math.Pow(LrDecay, step / stepsPerEpoch / LrStepEpochs),
            LrScheduleKind.Cosine => LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            LrScheduleKind.WarmupCosine => progress < 0.1
                ? LearningRate * (step + 1) / Math.Max(1.0, 0.1 * totalSteps)
                : LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (progress - 0.1) / 0.9)),
            _ => throw new ArgumentOutOfRangeException(nameof(Schedule), Schedule, "unknown schedule"),
        };
    }
}
