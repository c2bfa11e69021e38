using System.Text.Json;
using Workbench.Benchmarks;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>`workbench bench evaluation`: batched metrics vs a per-image loop (speed-up, target >= 5x).</summary>
public sealed class BenchEvaluationCommand : CliCommand
{
    public override string Name => "bench evaluation";
    public override string Summary => "Time batched pixel perturbation and MPRT against per-image loops (speed-up, target >= 5x)";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("pixel-images", "MNIST test images for pixel perturbation", "n", "1000"),
        new("mprt-images", "MNIST test images for MPRT", "n", "200"),
        new("threads", "libtorch threads", "n", "all cores"),
        new("repeats", "Times each path is timed (alternating); medians are reported", "n", "3"),
        new("json", "Print one JSON object as the last line"),
    ];

    public override int Execute(CliArgs args)
    {
        int pixel = args.GetInt("pixel-images", 1000, 1), mprt = args.GetInt("mprt-images", 200, 1), repeats = args.GetInt("repeats", 3, 1);
        TorchRuntime.SetThreads(args.GetInt("threads", Environment.ProcessorCount, min: 1));
        using var data = CliProgress.Run(p => Datasets.Load(DatasetName.Mnist, progress: p));
        // A trained small CNN from the model cache (trained once on MNIST, 1 epoch).
        var cached = CliProgress.Run(p => new ModelCache().GetOrTrain(new ModelSpec("cnn"), data.Train, data.Test, new TrainOptions { Epochs = 1 }, p));
        using var model = cached.Model;
        var r = CliProgress.Run(p => EvaluationBenchmark.Run(data.Test.Inputs, data.Test.Labels, model, pixel, mprt, p, repeats));
        Console.WriteLine($"pixel perturbation, {r.PixelImages} images x 25 fractions: batched {r.PixelBatchedSeconds:F2} s ({r.PixelImages / r.PixelBatchedSeconds:F0} images/s), per image {r.PixelLoopSeconds:F2} s ({r.PixelImages / r.PixelLoopSeconds:F0} images/s): {r.PixelSpeedup:F1}x");
        Console.WriteLine($"MPRT cascading (saliency), {r.MprtImages} images: batched {r.MprtBatchedSeconds:F2} s ({r.MprtImages / r.MprtBatchedSeconds:F0} images/s), per image {r.MprtLoopSeconds:F2} s ({r.MprtImages / r.MprtLoopSeconds:F0} images/s): {r.MprtSpeedup:F1}x");
        if (args.Has("json"))
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["pixel_perturbation"] = new Dictionary<string, double> { ["speedup"] = r.PixelSpeedup, ["images_per_s"] = r.PixelImages / r.PixelBatchedSeconds, ["loop_images_per_s"] = r.PixelImages / r.PixelLoopSeconds },
                ["threads"] = TorchRuntime.Threads,
                ["allocator_tuned"] = NativeAllocator.Tuned,
                ["mprt"] = new Dictionary<string, double> { ["speedup"] = r.MprtSpeedup, ["images_per_s"] = r.MprtImages / r.MprtBatchedSeconds, ["loop_images_per_s"] = r.MprtImages / r.MprtLoopSeconds },
            }));
        return 0;
    }
}
