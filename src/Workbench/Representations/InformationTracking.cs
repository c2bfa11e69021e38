using TorchSharp;
using Workbench.Data;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>Training of the tracked network and the decoders at each checkpoint.</summary>
public sealed record TrackingOptions
{
    /// <summary>Optimizer steps after which the layers are measured (ascending; 0 = the untrained network).</summary>
    public IReadOnlyList<long> Checkpoints { get; init; } = new long[] { 0, 100, 300, 1000, 3000 };
    public int Width { get; init; } = 8;
    public int Bottleneck { get; init; } = 32;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>q(x|h): an MLP with one hidden layer of 128 to one Bernoulli logit per pixel, Adam 3e-3.</summary>
    public ProbeOptions Decoder { get; init; } = new() { Hidden = new[] { 128 }, Epochs = 5, LearningRate = 3e-3 };
    /// <summary>q(y|h): an MLP with one hidden layer of 128 to the class logits, Adam 3e-3.</summary>
    public ProbeOptions Classifier { get; init; } = new() { Hidden = new[] { 128 }, Epochs = 5, LearningRate = 3e-3 };
    public int Seed { get; init; }

    public TrackingOptions Validate()
    {
        if (Checkpoints.Count == 0 || Checkpoints.Any(c => c < 0) || Checkpoints.Zip(Checkpoints.Skip(1)).Any(p => p.Second <= p.First))
            throw new ArgumentException($"Checkpoints must be ascending steps >= 0; got [{string.Join(", ", Checkpoints)}].", nameof(Checkpoints));
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be >= 1.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be > 0.");
        return this;
    }
}

/// <summary>One layer at one checkpoint: the I(x; h) and I(y; h) estimates, the objective's training loss and (classification) test accuracy.</summary>
public sealed record InformationPoint(TrackingObjective Objective, long Step, string Layer, int Depth, InformationBound Input, InformationBound Label,
    double TrainLoss, double? TestAccuracy);

/// <summary>
/// Information-plane tracking (Darlow &amp; Storkey, 2020): train a <see cref="TrackedResNet"/> for classification or
/// autoencoding, and at each checkpoint fit fresh decoders q(x|h) and q(y|h) on each tracked layer's features
/// (<see cref="MutualInformation"/>). Features come from <see cref="LayerFeatures"/> in eval mode.
/// </summary>
public static class InformationTracking
{
    /// <summary>Both estimates for a fixed representation: features of the fit images (decoder training) and of the test images (scoring).</summary>
    public static (InformationBound Input, InformationBound Label) Measure(Tensor fitFeatures, Tensor testFeatures, TensorDataset fit, TensorDataset test,
        TrackingOptions options, IProgressSink? progress = null)
    {
        using var fitBinary = MutualInformation.Binarize(fit.Inputs);
        using var testBinary = MutualInformation.Binarize(test.Inputs);
        var input = MutualInformation.InputInformation(fitFeatures, fitBinary, testFeatures, testBinary, options.Decoder with { Seed = options.Seed }, progress);
        var label = MutualInformation.LabelInformation(fitFeatures, fit.Labels, testFeatures, test.Labels, options.Classifier with { Seed = options.Seed }, progress);
        return (input, label);
    }

    /// <summary>The estimates for every tracked layer of <paramref name="model"/> at its current weights.</summary>
    public static IReadOnlyList<InformationPoint> MeasureLayers(TrackedResNet model, long step, double trainLoss, TensorDataset fit, TensorDataset test,
        TrackingOptions options, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var points = new List<InformationPoint>();
        double? accuracy = model.Objective == TrackingObjective.Classification ? Training.Trainer.Evaluate(model, test).Accuracy : null;
        var layers = TrackedResNet.TrackedLayers;
        for (int depth = 0; depth < layers.Count; depth++)
        {
            using var fitFeatures = LayerFeatures.Collect(model, layers[depth], fit.Inputs);
            using var testFeatures = LayerFeatures.Collect(model, layers[depth], test.Inputs);
            var (input, label) = Measure(fitFeatures, testFeatures, fit, test, options, progress);
            points.Add(new InformationPoint(model.Objective, step, layers[depth], depth + 1, input, label, trainLoss, accuracy));
        }
        return points;
    }

    /// <summary>
    /// Trains a fresh tracked network (seeded) on <paramref name="train"/> with Adam and measures every tracked layer at each
    /// checkpoint; <paramref name="onCheckpoint"/> sees each checkpoint's points as they come. A diverged training stops the
    /// run: the points so far are returned with a last point per layer whose status says why.
    /// </summary>
    /// <param name="untrained">Points already measured at step 0 for these options and seed (the trunk's initialisation does not depend on
    /// the objective, so the other objective's step-0 points are these): reused instead of fitting their decoders again.</param>
    public static IReadOnlyList<InformationPoint> Run(TrackingObjective objective, TensorDataset train, TensorDataset fit, TensorDataset test, TrackingOptions options,
        IProgressSink? progress = null, Action<IReadOnlyList<InformationPoint>>? onCheckpoint = null, IReadOnlyList<InformationPoint>? untrained = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        var o = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (train.Count == 0) throw new ArgumentException("train has no examples (Count = 0).", nameof(train));
        if (fit.Count == 0) throw new ArgumentException("fit has no examples (Count = 0).", nameof(fit));
        if (test.Count == 0) throw new ArgumentException("test has no examples (Count = 0).", nameof(test));
        progress ??= NullProgress.Instance;
        TorchRuntime.Seed(o.Seed);
        using var model = new TrackedResNet(objective, o.Width, o.Bottleneck, Math.Max(train.Classes, 2), (int)train.Inputs.shape[^1]);
        using var optimizer = optim.Adam(model.parameters(), o.LearningRate);
        var points = new List<InformationPoint>();
        long step = 0, batchesPerEpoch = (train.Count + o.BatchSize - 1) / o.BatchSize;
        double recentLoss = double.NaN;
        using var task = progress.Start($"{objective.ToString().ToLowerInvariant()} tracking", o.Checkpoints[^1]);
        foreach (var checkpoint in o.Checkpoints)
        {
            double lossSum = 0;
            long lossCount = 0;
            model.train();
            while (step < checkpoint)
            {
                long epoch = step / batchesPerEpoch, b = step % batchesPerEpoch;
                using var scope = torch.NewDisposeScope();
                using var order = TensorDataset.Permutation(train.Count, o.Seed * 1_000_003L + epoch);
                var idx = order.narrow(0, b * o.BatchSize, Math.Min(o.BatchSize, train.Count - b * o.BatchSize));
                optimizer.zero_grad();
                var loss = model.Loss(train.Inputs.index_select(0, idx), train.Labels.index_select(0, idx));
                double v = loss.item<float>();
                if (!double.IsFinite(v))
                {
                    var failure = new InformationBound(null, null, double.NaN, $"training diverged: the loss is {v} at step {step + 1}");
                    points.AddRange(TrackedResNet.TrackedLayers.Select((l, i) => new InformationPoint(objective, step, l, i + 1, failure, failure, v, null)));
                    return points;
                }
                loss.backward();
                optimizer.step();
                lossSum += v;
                lossCount++;
                step++;
                task.Report(step, $"loss {v:G4}");
            }
            if (lossCount > 0) recentLoss = lossSum / lossCount;
            var measured = step == 0 && untrained is { Count: > 0 } && untrained.All(p => p.Step == 0)
                ? untrained.Select(p => p with { Objective = objective, TestAccuracy = objective == TrackingObjective.Classification ? p.TestAccuracy : null }).ToList()
                : MeasureLayers(model, step, recentLoss, fit, test, o, progress.Within($"step {step}"));
            points.AddRange(measured);
            onCheckpoint?.Invoke(measured);
        }
        return points;
    }
}
