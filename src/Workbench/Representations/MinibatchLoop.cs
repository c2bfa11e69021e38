using TorchSharp;
using Workbench.Data;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>How a fit of an auxiliary network (reconstruction net, probe classifier, decoder) ended.</summary>
/// <param name="EpochLoss">Mean training loss of each completed epoch.</param>
/// <param name="Failure">Null when the fit completed; else why it stopped (a non-finite loss: divergence).</param>
public sealed record FitOutcome(IReadOnlyList<double> EpochLoss, string? Failure)
{
    public bool Diverged => Failure is not null;
    public double FinalLoss => EpochLoss.Count == 0 ? double.NaN : EpochLoss[^1];
}

/// <summary>
/// The mini-batch loop the auxiliary networks of this folder share: seeded batch order per epoch, a learning rate per
/// epoch, one dispose scope per step (the live tensor count does not grow), and divergence reported as a
/// <see cref="FitOutcome.Failure"/> instead of NaN weights used downstream.
/// </summary>
public static class MinibatchLoop
{
    /// <param name="examples">Examples per epoch; <paramref name="loss"/> gets the indices of one batch.</param>
    /// <param name="learningRate">Learning rate of epoch e (0-based), set on every parameter group.</param>
    public static FitOutcome Run(long examples, int epochs, int batchSize, long seed, optim.Optimizer optimizer,
        Func<int, double> learningRate, Func<Tensor, Tensor> loss, IProgressSink? progress = null, string description = "fit")
    {
        if (examples < 1) throw new ArgumentException($"there must be at least one training example; got {examples}.", nameof(examples));
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be >= 1.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        progress ??= NullProgress.Instance;
        var losses = new List<double>();
        long batches = (examples + batchSize - 1) / batchSize;
        using var task = progress.Start(description, epochs * batches);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            double lr = learningRate(epoch);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            using var order = TensorDataset.Permutation(examples, seed * 1_000_003 + epoch);
            double sum = 0;
            for (long b = 0; b < batches; b++)
            {
                using var scope = torch.NewDisposeScope();
                long first = b * batchSize, n = Math.Min(batchSize, examples - first);
                optimizer.zero_grad();
                var value = loss(order.narrow(0, first, n));
                double v = value.to_type(ScalarType.Float64).item<double>();
                if (!double.IsFinite(v))
                    return new FitOutcome(losses, $"{description} diverged: the loss is {v} at epoch {epoch + 1}, batch {b + 1} (learning rate {lr:G3}).");
                value.backward();
                optimizer.step();
                sum += v * n;
                task.Report(epoch * batches + b + 1, $"loss {v:G4}");
            }
            losses.Add(sum / examples);
        }
        return new FitOutcome(losses, null);
    }

    /// <summary>Log-linear decay from <paramref name="start"/> at epoch 0 to <paramref name="end"/> at the last epoch (the authors' schedule).</summary>
    public static Func<int, double> LogLinear(double start, double end, int epochs) =>
        e => epochs <= 1 ? start : start * Math.Pow(end / start, (double)e / (epochs - 1));
}
