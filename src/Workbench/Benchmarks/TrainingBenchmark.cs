using System.Diagnostics;
using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Benchmarks;

/// <param name="Penalty">When set, the library side trains with this penalty (λ = 1e-5) while the raw loop stays plain: the ratio is then the penalty's cost.</param>
public sealed record TrainingBenchmarkConfig(int Steps = 300, int BatchSize = 32, int Repeats = 3, string Architecture = "cnn", int Seed = 0,
    Workbench.Training.IPenalty? Penalty = null, Workbench.Models.ActivationKind Activation = Workbench.Models.ActivationKind.ReLU);

/// <summary>Times of each repeat (seconds) and the ratio of medians, trainer / raw.</summary>
public sealed record TrainingBenchmarkResult(TrainingBenchmarkConfig Config, IReadOnlyList<double> TrainerSeconds, IReadOnlyList<double> RawSeconds)
{
    public double TrainerMedian => BenchmarkStatistics.Median(TrainerSeconds);
    public double RawMedian => BenchmarkStatistics.Median(RawSeconds);
    public double Ratio => TrainerMedian / RawMedian;
}

/// <summary>
/// The library trainer against the minimal hand-written TorchSharp loop, same model, optimizer,
/// data and number of steps, alternating in one process so both see the same machine state.
/// </summary>
public static class TrainingBenchmark
{
    public static TrainingBenchmarkResult Run(TensorDataset train, TrainingBenchmarkConfig config, IProgressSink? progress = null)
    {
        progress ??= NullProgress.Instance;
        using var subset = train.Take((long)config.Steps * config.BatchSize);
        var spec = ModelSpec.Parse(config.Architecture) with { Activation = config.Activation };
        var options = new TrainOptions { Epochs = 1, BatchSize = config.BatchSize, Seed = config.Seed, EvaluateEveryEpoch = false };
        var trainerOptions = options with { Penalty = config.Penalty, PenaltyWeight = config.Penalty is null ? 1 : 1e-5 };

        // Warm-up: first-call costs (kernel selection, allocator growth) belong to neither side.
        RawLoop(spec, subset, options, Math.Min(20, config.Steps));

        var trainer = new List<double>();
        var raw = new List<double>();
        using var task = progress.Start("bench train", 2L * config.Repeats);
        for (int r = 0; r < config.Repeats; r++)
        {
            // Alternate which side goes first so drift (thermal, caches) does not favour one.
            for (int side = 0; side < 2; side++)
            {
                bool trainerSide = (side + r) % 2 == 0;
                if (trainerSide)
                {
                    TorchRuntime.Seed(config.Seed);
                    using var model = spec.Build();
                    var clock = Stopwatch.StartNew();
                    Trainer.Fit(model, subset, null, trainerOptions);
                    trainer.Add(clock.Elapsed.TotalSeconds);
                }
                else raw.Add(RawLoop(spec, subset, options, config.Steps));
                task.Report(trainer.Count + raw.Count);
            }
        }
        return new TrainingBenchmarkResult(config, trainer, raw);
    }

    /// <summary>The baseline: what anyone would write by hand with TorchSharp. Returns seconds.</summary>
    static double RawLoop(ModelSpec spec, TensorDataset data, TrainOptions options, int steps)
    {
        TorchRuntime.Seed(options.Seed);
        using var model = spec.Build();
        using var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        var clock = Stopwatch.StartNew();
        model.train();
        using var order = TensorDataset.Permutation(data.Count, options.Seed + 1);
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var idx = order.narrow(0, (long)step * options.BatchSize, Math.Min(options.BatchSize, data.Count - (long)step * options.BatchSize));
            var x = data.Inputs.index_select(0, idx);
            var y = data.Labels.index_select(0, idx);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
            _ = loss.item<float>();
        }
        return clock.Elapsed.TotalSeconds;
    }
}
