using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// Trained conditional VAEs on disk, so rerunning a notebook reuses them (as <see cref="ModelCache"/> does for
/// classifiers, in the same folder). The key hashes the options, the seed and the content of the images and
/// conditions; an entry that fails to load (corrupt weights or history) is deleted and trained again.
/// </summary>
public static class ConditionalVaeCache
{
    /// <summary>Bump when a change to <see cref="ConditionalVae"/> or its training changes what training produces.</summary>
    public const string CodeVersion = "cvae-1";

    public static (ConditionalVae Model, CvaeHistory History) FitOrLoad(Tensor images, Tensor conditions, CvaeOptions options, string directory, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        options = options.Validate();
        string key = Key(images, conditions, options);
        string weights = Path.Combine(directory, $"{key}.bin"), record = Path.Combine(directory, $"{key}.json");
        if (File.Exists(weights) && File.Exists(record))
        {
            var model = new ConditionalVae(images.shape.Skip(1).ToArray(), (int)conditions.shape[1], options);
            try
            {
                ModelIO.Load(model, weights);
                var history = JsonSerializer.Deserialize<CvaeHistory>(File.ReadAllText(record))
                    ?? throw new InvalidDataException($"'{record}' holds no history.");
                if (history.Loss is null || history.Loss.Length != options.Epochs) throw new InvalidDataException($"'{record}' does not hold {options.Epochs} epochs.");
                model.eval();
                return (model, history);
            }
            catch (Exception e) when (e is InvalidDataException or JsonException or IOException)
            {
                model.Dispose();
                Console.Error.WriteLine($"CVAE cache: entry {key} is unreadable ({e.Message}); retraining.");
                AtomicFile.TryDelete(weights);
                AtomicFile.TryDelete(record);
            }
        }
        var (fresh, trained) = ConditionalVae.Fit(images, conditions, options, progress);
        try
        {
            AtomicFile.EnsureWritableDirectory(directory, "The model cache folder (WORKBENCH_MODELS)");
            ModelIO.Save(fresh, weights);
            AtomicFile.WriteAllText(record, JsonSerializer.Serialize(trained));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"CVAE cache: could not store entry {key} in '{directory}' ({e.Message}); using the trained model without caching it.");
        }
        return (fresh, trained);
    }

    static string Key(Tensor images, Tensor conditions, CvaeOptions options)
    {
        // The dataset fingerprint over images and conditions side by side (labels unused).
        using var scope = torch.NewDisposeScope();
        var joined = torch.cat(new[] { images.reshape(images.shape[0], -1).to_type(ScalarType.Float32), conditions.to_type(ScalarType.Float32) }, 1);
        using var data = new TensorDataset(joined.clone(), torch.zeros(images.shape[0], dtype: ScalarType.Int64), "cvae-data");
        string text = FormattableString.Invariant(
            $"{CodeVersion}|{string.Join("x", images.shape.Skip(1))}|c{conditions.shape[1]}|{DatasetFingerprint.Of(data)}|latent={options.LatentSize};hidden={options.Hidden};epochs={options.Epochs};batch={options.BatchSize};lr={options.LearningRate:R};seed={options.Seed}");
        return "cvae-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];
    }
}
