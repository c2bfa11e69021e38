using Microsoft.Data.Analysis;

namespace Workbench.Training;

/// <summary>One epoch's metrics. Test metrics are NaN when the epoch was not evaluated.</summary>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double Penalty,
    double TestLoss, double TestAccuracy, double LearningRate, double Seconds, long Steps = 0);

/// <summary>The metrics of a training run, epoch by epoch; <see cref="ToDataFrame"/> for notebooks.</summary>
public sealed class TrainingHistory
{
    readonly List<EpochMetrics> _epochs = new();

    public TrainingHistory() { }
    public TrainingHistory(IEnumerable<EpochMetrics> epochs) => _epochs.AddRange(epochs);

    public IReadOnlyList<EpochMetrics> Epochs => _epochs;
    public EpochMetrics Last => _epochs.Count > 0 ? _epochs[^1] : throw new InvalidOperationException("The history is empty: no epoch has finished.");
    public double TotalSeconds => _epochs.Sum(e => e.Seconds);

    public void Add(EpochMetrics epoch) => _epochs.Add(epoch);

    public DataFrame ToDataFrame() => new(
        new Int32DataFrameColumn("epoch", _epochs.Select(e => e.Epoch)),
        new DoubleDataFrameColumn("train_loss", _epochs.Select(e => e.TrainLoss)),
        new DoubleDataFrameColumn("train_accuracy", _epochs.Select(e => e.TrainAccuracy)),
        new DoubleDataFrameColumn("penalty", _epochs.Select(e => e.Penalty)),
        new DoubleDataFrameColumn("test_loss", _epochs.Select(e => e.TestLoss)),
        new DoubleDataFrameColumn("test_accuracy", _epochs.Select(e => e.TestAccuracy)),
        new DoubleDataFrameColumn("learning_rate", _epochs.Select(e => e.LearningRate)),
        new DoubleDataFrameColumn("seconds", _epochs.Select(e => e.Seconds)));
}
