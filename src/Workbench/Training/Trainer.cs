using System.Diagnostics;
using TorchSharp;
using Workbench.Data;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>The outcome of <see cref="Trainer.Fit"/>.</summary>
public sealed record TrainResult(TrainingHistory History, double TestLoss, double TestAccuracy, double TrainSeconds)
{
    /// <summary>Optimizer steps of the whole run (0 for a cached run recorded before step counts were kept).</summary>
    public long Steps => History.Epochs.Count == 0 ? 0 : History.Last.Steps;
}

/// <summary>Loss and accuracy of a model on a dataset.</summary>
public sealed record EvaluationResult(double Loss, double Accuracy, long Count);

/// <summary>
/// The training loop: cross-entropy plus an optional <see cref="IPenalty"/>, SGD or Adam, a learning
/// rate schedule, seeded batch order. Every step runs in a dispose scope, so memory does not grow
/// over epochs. The loop is deliberately as thin as a hand-written TorchSharp loop
/// (`workbench bench train` measures the ratio).
/// </summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> in place on <paramref name="device"/> (default: the model's current device, CPU).
    /// <paramref name="afterEpoch"/>, when given, runs after each epoch's metrics are recorded (e.g. to measure the model on
    /// more sets, as the HFC paper's accuracy-vs-epoch curves do); it may switch the model to eval mode, the next epoch switches back.
    /// </summary>
    public static TrainResult Fit(nn.Module<Tensor, Tensor> model, TensorDataset train, TensorDataset? test, TrainOptions options,
        IProgressSink? progress = null, Device? device = null, CancellationToken cancellation = default, Action<EpochMetrics>? afterEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (train.Count == 0) throw new ArgumentException("train has no examples (Count = 0).", nameof(train));
        progress ??= NullProgress.Instance;
        device ??= torch.CPU;
        TorchRuntime.EnsureLoaded();
        model.to(device);

        using var optimizer = CreateOptimizer(model, options);
        var history = new TrainingHistory();
        long stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        long totalSteps = options.TotalSteps(train.Count);
        int epochs = options.EpochCount(train.Count);
        long step = 0;
        var penalty = options.Penalty;
        double lastLr = options.LearningRate;

        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            model.train();
            double lossSum = 0, penaltySum = 0;
            long correct = 0, seen = 0, batchIndex = 0;
            using (var task = progress.Start($"epoch {epoch}/{epochs}", Math.Min(stepsPerEpoch, totalSteps - step)))
            {
                // The batch order depends on (seed, epoch) only, so a run is reproducible and a
                // resumed or cached run sees the same data in the same order.
                foreach (var batch in train.Batches(options.BatchSize, shuffle: true, seed: options.Seed * 1_000_003 + epoch, device))
                {
                    if (step == totalSteps) { batch.Dispose(); break; }
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = torch.NewDisposeScope();
                    using var _ = batch;
                    lastLr = options.LearningRateAt(step, stepsPerEpoch, totalSteps);
                    if (options.Schedule != LrScheduleKind.Constant)
                        foreach (var group in optimizer.ParamGroups) group.LearningRate = lastLr;

                    optimizer.zero_grad();
                    var inputs = penalty?.RequiresInputGradient == true ? batch.Inputs.detach().requires_grad_(true) : batch.Inputs;
                    var logits = model.call(inputs);
                    var loss = nn.functional.cross_entropy(logits, batch.Labels);
                    var total = loss;
                    if (penalty is not null)
                    {
                        var term = penalty.Compute(new PenaltyContext(model.call, inputs, logits, batch.Labels));
                        total = loss + options.PenaltyWeight * term;
                        penaltySum += term.item<float>() * batch.Labels.shape[0];
                    }
                    total.backward();
                    optimizer.step();

                    long n = batch.Labels.shape[0];
                    float lossValue = loss.item<float>();
                    if (!float.IsFinite(lossValue))
                        throw new InvalidOperationException($"Training diverged: the loss is {lossValue} at epoch {epoch}, batch {batchIndex + 1} (learning rate {lastLr}). Lower the learning rate.");
                    lossSum += lossValue * n;
                    correct += logits.argmax(1).eq(batch.Labels).sum().item<long>();
                    seen += n;
                    step++;
                    batchIndex++;
                    task.Report(batchIndex, $"loss {lossSum / seen:F4}  acc {100.0 * correct / seen:F2}%");
                }
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            EvaluationResult? eval = test is not null && (options.EvaluateEveryEpoch || epoch == epochs)
                ? Evaluate(model, test, device: device) : null;
            history.Add(new EpochMetrics(epoch, lossSum / seen, (double)correct / seen, penalty is null ? 0 : penaltySum / seen,
                eval?.Loss ?? double.NaN, eval?.Accuracy ?? double.NaN, lastLr, trainSeconds, step));
            afterEpoch?.Invoke(history.Last);
        }
        model.eval();
        var last = history.Last;
        return new TrainResult(history, last.TestLoss, last.TestAccuracy, history.TotalSeconds);
    }

    /// <summary>Mean cross-entropy and accuracy in eval mode without gradients; restores the model's mode.</summary>
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, TensorDataset data, int batchSize = 1000, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            double lossSum = 0;
            long correct = 0;
            foreach (var batch in data.Batches(batchSize, shuffle: false, seed: 0, device))
            {
                using var scope = torch.NewDisposeScope();
                using var _ = batch;
                var logits = model.call(batch.Inputs);
                lossSum += nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(batch.Labels).sum().item<long>();
            }
            return new EvaluationResult(data.Count == 0 ? double.NaN : lossSum / data.Count, data.Count == 0 ? double.NaN : (double)correct / data.Count, data.Count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Accuracy per class on a dataset (eval mode, no gradients), as a table: class, examples, correct, accuracy.</summary>
    public static Microsoft.Data.Analysis.DataFrame PerClassAccuracy(nn.Module<Tensor, Tensor> model, TensorDataset data, int batchSize = 1000, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.training;
        model.eval();
        var total = new long[data.Classes];
        var correct = new long[data.Classes];
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var batch in data.Batches(batchSize, shuffle: false, seed: 0, device))
            {
                using var scope = torch.NewDisposeScope();
                using var _ = batch;
                var predicted = model.call(batch.Inputs).argmax(1).cpu().data<long>().ToArray();
                var labels = batch.Labels.cpu().data<long>().ToArray();
                for (int i = 0; i < labels.Length; i++)
                {
                    total[labels[i]]++;
                    if (predicted[i] == labels[i]) correct[labels[i]]++;
                }
            }
        }
        finally { model.train(wasTraining); }
        return new Microsoft.Data.Analysis.DataFrame(
            new Microsoft.Data.Analysis.Int32DataFrameColumn("class", Enumerable.Range(0, data.Classes)),
            new Microsoft.Data.Analysis.Int64DataFrameColumn("examples", total),
            new Microsoft.Data.Analysis.Int64DataFrameColumn("correct", correct),
            new Microsoft.Data.Analysis.DoubleDataFrameColumn("accuracy", total.Select((t, c) => t == 0 ? double.NaN : (double)correct[c] / t)));
    }

    static optim.Optimizer CreateOptimizer(nn.Module model, TrainOptions o) => o.Optimizer switch
    {
        OptimizerKind.Adam => optim.Adam(model.parameters(), o.LearningRate, weight_decay: o.WeightDecay),
        OptimizerKind.Sgd => optim.SGD(model.parameters(), o.LearningRate, momentum: o.Momentum, weight_decay: o.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(o.Optimizer), o.Optimizer, "unknown optimizer"),
    };
}
