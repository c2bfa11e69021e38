using System.Text.Json;
using Workbench.Benchmarks;
using Workbench.Data;
using Workbench.Runtime;

namespace Workbench.Cli.Commands;

/// <summary>`workbench bench attribution`: each method vs hand-written TorchSharp passes, and IG's peak memory.</summary>
public sealed class BenchAttributionCommand : CliCommand
{
    public override string Name => "bench attribution";
    public override string Summary => "Time attribution methods against hand-written TorchSharp passes (plain gradients, and for guided backprop and DeepLIFT their rules by hand) and IG's peak memory";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("batch", "Images per call", "n", "64"),
        new("steps", "Steps / samples of IG, SmoothGrad and GradientSHAP", "n", "50"),
        new("repeats", "Timed repeats per side (median reported)", "n", "3"),
        new("window", "Seconds each timed sample repeats calls for", "s", "0.5"),
        new("ig-steps", "IG steps of the peak-memory measurement", "n", "1000"),
        new("ig-images", "Images of the peak-memory measurement", "n", "256"),
        new("threads", "libtorch threads", "n", "all cores"),
        new("methods", "Only these methods, comma-separated (e.g. Saliency,DeepLift)", "names", "all"),
        new("json", "Print one JSON object as the last line"),
    ];

    public override int Execute(CliArgs args)
    {
        var config = new AttributionBenchmarkConfig(args.GetInt("batch", 64, 1), args.GetInt("steps", 50, 1), args.GetInt("repeats", 3, 1),
            args.GetInt("ig-steps", 1000, 1), args.GetInt("ig-images", 256, 1), WindowSeconds: args.GetDouble("window", 0.5, 0.01),
            Methods: args.Get("methods")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        TorchRuntime.SetThreads(args.GetInt("threads", Environment.ProcessorCount, min: 1));
        using var data = CliProgress.Run(p => Datasets.Load(DatasetName.Mnist, progress: p));
        var result = CliProgress.Run(p => AttributionBenchmark.Run(data.Test.Inputs, config, p));
        Console.WriteLine($"{"method",-24} {"library s",10} {"raw s",10} {"ratio",7} {"fastest",8} {"vs hand",8} {"images/s",10}");
        foreach (var m in result.Methods)
            Console.WriteLine($"{m.Method,-24} {m.LibrarySeconds,10:F4} {m.RawSeconds,10:F4} {m.Ratio,7:F3} {m.FastestRatio,8:F3} {(m.HandWrittenRatio is { } h ? h.ToString("F3") : "-"),8} {m.ImagesPerSecond,10:F1}");
        Console.WriteLine("ratio: against plain gradients of the same passes (rule methods: includes their rules); vs hand: against the same rules written by hand in TorchSharp.");
        Console.WriteLine($"IG peak memory above baseline ({config.IgMemoryImages} images): {result.IgPeakMegabytes:F0} MB at {config.IgMemorySteps} steps, " +
                          $"{result.IgPeakMegabytesTenthSteps:F0} MB at {Math.Max(1, config.IgMemorySteps / 10)} steps (process baseline {result.BaselineMegabytes:F0} MB)");
        if (args.Has("json"))
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["methods"] = result.Methods.ToDictionary(m => m.Method, m => (object)new Dictionary<string, double?>
                {
                    ["ratio"] = m.Ratio, ["fastest_ratio"] = m.FastestRatio, ["hand_written_ratio"] = m.HandWrittenRatio, ["images_per_s"] = m.ImagesPerSecond,
                }),
                ["ig_peak_mb"] = result.IgPeakMegabytes,
                ["ig_peak_mb_tenth_steps"] = result.IgPeakMegabytesTenthSteps,
            }));
        return 0;
    }
}
