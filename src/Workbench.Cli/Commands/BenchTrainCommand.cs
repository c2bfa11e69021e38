using System.Text.Json;
using Workbench.Benchmarks;
using Workbench.Data;
using Workbench.Runtime;

namespace Workbench.Cli.Commands;

/// <summary>`workbench bench train`: library trainer vs a hand-written TorchSharp loop, same steps.</summary>
public sealed class BenchTrainCommand : CliCommand
{
    public override string Name => "bench train";
    public override string Summary => "Time the library trainer against a minimal TorchSharp loop (ratio, target <= 1.05)";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("steps", "Optimizer steps per timed run", "n", "300"),
        new("batch-size", "Mini-batch size", "n", "32"),
        new("penalty", "Train the library side with a penalty (none, score-matching, anti-score-matching, gradient-norm; λ = 1e-5) against a plain raw loop", "name", "none"),
        new("activation", "relu or softplus (softplus uses beta 10, as seed 001)", "name", "relu"),
        new("repeats", "Timed runs per side (median reported)", "n", "3"),
        new("model", "mlp, cnn or resnet", "name", "cnn"),
        new("threads", "libtorch threads", "n", "all cores"),
        new("json", "Print one JSON object as the last line"),
    ];

    public override int Execute(CliArgs args)
    {
        var config = new TrainingBenchmarkConfig(
            Steps: args.GetInt("steps", 300, min: 1), BatchSize: args.GetInt("batch-size", 32, min: 1),
            Repeats: args.GetInt("repeats", 3, min: 1), Architecture: args.GetChoice("model", "cnn", "mlp", "cnn", "resnet"),
            Penalty: args.GetChoice("penalty", "none", "none", "score-matching", "anti-score-matching", "gradient-norm") switch
            {
                "score-matching" => new Workbench.Regularization.ScoreMatchingPenalty(),
                "anti-score-matching" => new Workbench.Regularization.AntiScoreMatchingPenalty(),
                "gradient-norm" => new Workbench.Regularization.GradientNormPenalty(),
                _ => null,
            },
            Activation: args.GetChoice("activation", "relu", "relu", "softplus") == "softplus" ? Workbench.Models.ActivationKind.Softplus : Workbench.Models.ActivationKind.ReLU);
        TorchRuntime.SetThreads(args.GetInt("threads", Environment.ProcessorCount, min: 1));
        using var data = CliProgress.Run(p => Datasets.Load(DatasetName.Mnist, progress: p));
        var result = CliProgress.Run(p => TrainingBenchmark.Run(data.Train, config, p));
        Console.WriteLine($"model {config.Architecture} ({config.Activation}), {config.Steps} steps x batch {config.BatchSize}, {config.Repeats} repeats, {TorchRuntime.Threads} threads, library penalty: {config.Penalty?.Name ?? "none"}");
        Console.WriteLine($"trainer  median {result.TrainerMedian:F3} s  ({string.Join(", ", result.TrainerSeconds.Select(s => s.ToString("F3")))})");
        Console.WriteLine($"raw loop median {result.RawMedian:F3} s  ({string.Join(", ", result.RawSeconds.Select(s => s.ToString("F3")))})");
        Console.WriteLine($"ratio    {result.Ratio:F3} (target <= 1.05 without a penalty; <= 3.5 with score matching)");
        if (args.Has("json"))
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["ratio"] = result.Ratio, ["trainer_s"] = result.TrainerMedian, ["raw_s"] = result.RawMedian,
                ["steps"] = config.Steps, ["batch_size"] = config.BatchSize, ["repeats"] = config.Repeats,
                ["model"] = config.Architecture, ["threads"] = TorchRuntime.Threads, ["penalty"] = config.Penalty?.Name ?? "none",
            }));
        return 0;
    }
}
