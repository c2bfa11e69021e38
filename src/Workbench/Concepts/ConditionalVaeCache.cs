using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// Trained conditional VAEs in the model cache (<see cref="ModelCache"/>'s one mechanism: the same folder, record
/// format, corrupt-entry detection and atomic writes), so rerunning a notebook reuses them. The key hashes the
/// options, the seed and the content of the images and conditions.
/// </summary>
public static class ConditionalVaeCache
{
    /// <summary>Bump when a change to <see cref="ConditionalVae"/> or its training changes what training produces.</summary>
    public const string CodeVersion = "cvae-1";

    public static (ConditionalVae Model, CvaeHistory History) FitOrLoad(Tensor images, Tensor conditions, CvaeOptions options, ModelCache? cache = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(options);
        options = options.Validate();
        cache ??= new ModelCache();
        string key = Key(images, conditions, options);
        CvaeHistory? history = null;
        var entry = cache.GetOrTrain(key,
            () => new ConditionalVae(images.shape.Skip(1).ToArray(), (int)conditions.shape[1], options),
            () =>
            {
                var (model, trained) = ConditionalVae.Fit(images, conditions, options, progress);
                history = trained;
                return model;
            },
            weightsSha256 => new CvaeRecord(key, history!, weightsSha256),
            r =>
            {
                if (r.History?.Loss is null || r.History.Loss.Length != options.Epochs)
                    throw new InvalidDataException($"entry {key} does not hold {options.Epochs} epochs of CVAE history.");
            });
        return (entry.Model, entry.Record.History);
    }

    sealed record CvaeRecord(string Key, CvaeHistory History, string WeightsSha256) : ICacheRecord;

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
