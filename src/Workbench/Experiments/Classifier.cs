using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Experiments;

/// <summary>A trained classifier (in eval mode), the test images it is explained on, and how it trained.</summary>
public sealed record Classifier(string Dataset, nn.Module<Tensor, Tensor> Model, TensorDataset Test, double TestAccuracy, TrainingHistory History) : IDisposable
{
    public void Dispose() { Model.Dispose(); Test.Dispose(); }

    /// <summary>
    /// The small CNN trained with the trainer's defaults (Adam 1e-3, batch 32) on the first <paramref name="trainImages"/>
    /// training images (through the model cache), with its accuracy on the first 2,000 test images; keeps the first
    /// <paramref name="testImages"/> test images. <paramref name="shuffleLabels"/> permutes the training labels (seeded):
    /// the data-randomization test of the sanity checks (Adebayo et al., 2018, §5).
    /// </summary>
    public static Classifier Train(DatasetName dataset, int trainImages, int epochs, int testImages, int seed, ModelCache cache,
        IProgressSink? progress = null, bool shuffleLabels = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (trainImages < 1) throw new ArgumentOutOfRangeException(nameof(trainImages), trainImages, "trainImages must be >= 1.");
        if (testImages < 1) throw new ArgumentOutOfRangeException(nameof(testImages), testImages, "testImages must be >= 1.");
        using var data = Datasets.Load(dataset, progress: progress);
        using var first = data.Train.Take(trainImages);
        using var permutation = TensorDataset.Permutation(first.Count, seed + 7919);
        using var train = shuffleLabels
            ? new TensorDataset(first.Inputs.clone(), first.Labels.index_select(0, permutation), $"{first.Name}-shuffled-labels-{seed}", first.Classes)
            : first.Take(first.Count);
        using var accuracyTest = data.Test.Take(2_000);
        string name = Datasets.CliName(dataset) + (shuffleLabels ? " (shuffled labels)" : "");
        var trained = cache.GetOrTrain(new ModelSpec("cnn"), train, accuracyTest, new TrainOptions { Epochs = epochs, Seed = seed },
            (progress ?? NullProgress.Instance).Within(name));
        trained.Model.eval();
        return new Classifier(name, trained.Model, data.Test.Take(testImages), trained.Result.TestAccuracy, trained.Result.History);
    }
}
