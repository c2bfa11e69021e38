using System.Diagnostics;
using System.Text.Json;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>`workbench train`: trains one model on MNIST or Fashion-MNIST and reports test accuracy.</summary>
public sealed class TrainCommand : CliCommand
{
    public override string Name => "train";
    public override string Summary => "Train a model on a dataset and report test accuracy, loss and time";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("dataset", "mnist or fashion-mnist", "name", "mnist"),
        new("model", "mlp, cnn or resnet", "name", "cnn"),
        new("epochs", "Training epochs", "n", "1"),
        new("seed", "Seed of initialisation and batch order", "n", "0"),
        new("batch-size", "Mini-batch size", "n", "32"),
        new("lr", "Learning rate", "x", "0.001"),
        new("optimizer", "adam or sgd", "name", "adam"),
        new("activation", "relu or softplus", "name", "relu"),
        new("spectral-norm", "Spectrally normalise every conv/linear layer"),
        new("threads", "libtorch threads (bitwise determinism needs the same count)", "n", "all cores"),
        new("cache", "Reuse a cached model trained with the same settings, else train and store it"),
        new("save", "Write the trained weights to this file", "path"),
        new("json", "Print one JSON object as the last line"),
    ];

    public override int Execute(CliArgs args)
    {
        var dataset = args.Parse("dataset", "mnist", Datasets.Parse);
        var spec = args.Parse("model", "cnn", ModelSpec.Parse) with
        {
            Activation = args.GetChoice("activation", "relu", "relu", "softplus") == "softplus" ? ActivationKind.Softplus : ActivationKind.ReLU,
            SpectralNorm = args.Has("spectral-norm"),
        };
        var options = new TrainOptions
        {
            Epochs = args.GetInt("epochs", 1, min: 1),
            Seed = args.GetInt("seed", 0, min: 0),
            BatchSize = args.GetInt("batch-size", 32, min: 1),
            LearningRate = args.GetDouble("lr", 1e-3, min: double.Epsilon),
            Optimizer = args.GetChoice("optimizer", "adam", "adam", "sgd") == "sgd" ? OptimizerKind.Sgd : OptimizerKind.Adam,
            EvaluateEveryEpoch = true,
        };
        TorchRuntime.SetThreads(args.GetInt("threads", Environment.ProcessorCount, min: 1));
        // Where the results go is checked before the data is fetched and the model trained, not after.
        if (args.Get("save") is { } saveTo) AtomicFile.EnsureWritableFile(saveTo, "--save");
        if (args.Has("cache")) AtomicFile.EnsureWritableDirectory(new ModelCache().Directory, "The model cache folder (WORKBENCH_MODELS)");

        var loadClock = Stopwatch.StartNew();
        using var data = CliProgress.Run(p => Datasets.Load(dataset, progress: p));
        double loadSeconds = loadClock.Elapsed.TotalSeconds;

        bool fromCache = false;
        TrainResult result;
        TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> model;
        if (args.Has("cache"))
        {
            var cached = CliProgress.Run(p => new ModelCache().GetOrTrain(spec, data.Train, data.Test, options, p));
            (model, result, fromCache) = (cached.Model, cached.Result, cached.FromCache);
        }
        else
        {
            TorchRuntime.Seed(options.Seed);
            model = spec.Build();
            result = CliProgress.Run(p => Trainer.Fit(model, data.Train, data.Test, options, p));
        }
        using var _ = model;

        Console.WriteLine($"dataset        {args.Get("dataset", "mnist")} ({data.Train.Count} train / {data.Test.Count} test)");
        Console.WriteLine($"model          {spec.Key}{(fromCache ? "  (from cache)" : "")}");
        Console.WriteLine($"test accuracy  {100 * result.TestAccuracy:F2}%");
        Console.WriteLine($"test loss      {result.TestLoss:F4}");
        Console.WriteLine($"train seconds  {result.TrainSeconds:F1} ({options.Epochs} epoch(s), {TorchRuntime.Threads} threads; data load {loadSeconds:F1} s)");
        if (args.Has("json"))
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["dataset"] = args.Get("dataset", "mnist"), ["model"] = spec.Key, ["epochs"] = options.Epochs, ["seed"] = options.Seed,
                ["test_accuracy"] = result.TestAccuracy, ["test_loss"] = result.TestLoss, ["train_seconds"] = result.TrainSeconds,
                ["load_seconds"] = loadSeconds, ["threads"] = TorchRuntime.Threads, ["from_cache"] = fromCache,
            }));
        // Saved after the results are printed: if the disk fails now (it was checked before training), the
        // run's numbers are still reported and the error says what went wrong (exit 1).
        if (args.Get("save") is { } savePath) ModelIO.Save(model, savePath);
        return 0;
    }
}
