using System.Text.Json;
using Workbench.Benchmarks;
using Workbench.Boundaries;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>`workbench bench boundaries`: subspace DeepFool over 21 DCT blocks, batched vs a per-image loop (target >= 5x).</summary>
public sealed class BenchBoundariesCommand : CliCommand
{
    public override string Name => "bench boundaries";
    public override string Summary => "Time subspace DeepFool over the 21 DCT blocks, batched against a per-image loop (images·blocks/s, target >= 5x)";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("images", "MNIST test images attacked in every block (batched)", "n", "1000"),
        new("loop-images", "Of those, images attacked one call per image and block (the loop)", "n", "10"),
        new("max-iterations", "DeepFool's iteration cap", "n", "100"),
        new("batch", "Image × block pairs per batch (memory bound)", "n", "1024"),
        new("threads", "libtorch threads", "n", "all cores"),
        new("json", "Print one JSON object as the last line"),
    ];

    public override int Execute(CliArgs args)
    {
        int images = args.GetInt("images", 1000, 1), loop = args.GetInt("loop-images", 10, 1), iterations = args.GetInt("max-iterations", 100, 1), batch = args.GetInt("batch", 1024, 1);
        TorchRuntime.SetThreads(args.GetInt("threads", Environment.ProcessorCount, min: 1));
        using var data = CliProgress.Run(p => Datasets.Load(DatasetName.Mnist, progress: p));
        // The same cached small CNN as `bench evaluation` (MNIST, 1 epoch).
        var cached = CliProgress.Run(p => new ModelCache().GetOrTrain(new ModelSpec("cnn"), data.Train, data.Test, new TrainOptions { Epochs = 1 }, p));
        using var model = cached.Model;
        var r = CliProgress.Run(p => BoundariesBenchmark.Run(model.call, data.Test.Inputs, images, Math.Min(loop, images), new DeepFoolOptions { MaxIterations = iterations, BatchSize = batch }, p));
        Console.WriteLine($"subspace DeepFool, {r.Blocks} DCT blocks: batched {r.Images} images in {r.BatchedSeconds:F1} s ({r.BatchedRate:F1} images·blocks/s, " +
                          $"{r.BatchedIterations / r.BatchedSeconds:F0} steps/s, {r.NotFlipped} pairs not flipped); per-image loop {r.LoopImages} images in {r.LoopSeconds:F1} s " +
                          $"({r.LoopRate:F1} images·blocks/s, {r.LoopIterations / r.LoopSeconds:F0} steps/s): {r.Speedup:F1}x in images·blocks/s, {r.StepSpeedup:F1}x in DeepFool steps/s " +
                          $"(max relative margin difference {r.MaxLoopDifference:G2})");
        if (args.Has("json"))
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["speedup"] = r.Speedup, ["step_speedup"] = r.StepSpeedup, ["batched_pairs_per_s"] = r.BatchedRate, ["loop_pairs_per_s"] = r.LoopRate,
                ["images"] = r.Images, ["loop_images"] = r.LoopImages, ["blocks"] = r.Blocks, ["not_flipped"] = r.NotFlipped,
                ["max_relative_difference"] = r.MaxLoopDifference, ["threads"] = TorchRuntime.Threads,
            }));
        return 0;
    }
}
