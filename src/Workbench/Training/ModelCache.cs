using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>A model from <see cref="ModelCache.GetOrTrain"/>: trained now, or loaded.</summary>
public sealed record CachedModel(nn.Module<Tensor, Tensor> Model, TrainResult Result, bool FromCache, string Key, string WeightsPath);

/// <summary>
/// A content-addressed cache of trained models, so rerunning a notebook reuses them. The key hashes
/// the model spec, the training data's content (<see cref="DatasetFingerprint"/>), the training
/// options (seed included), how the model was initialised, and <see cref="CodeVersion"/>. Each entry
/// is the weights (<see cref="ModelIO"/>, checksummed) plus a JSON record of the training history;
/// an entry that fails to load is deleted and retrained, never used.
/// </summary>
public sealed class ModelCache
{
    /// <summary>Bump when a change to the trainer or the models changes what training produces.</summary>
    public const string CodeVersion = "trainer-1";

    public string Directory { get; }

    public ModelCache(string? directory = null)
    {
        Directory = directory
            ?? Environment.GetEnvironmentVariable("WORKBENCH_MODELS")
            ?? Path.Combine(Datasets.DefaultCacheDirectory, "models");
    }

    /// <summary>The cache key of a training run.</summary>
    public static string KeyFor(ModelSpec spec, TensorDataset train, TrainOptions options, string? initializationKey = null)
    {
        var text = $"{CodeVersion}|{spec.Key}|{DatasetFingerprint.Of(train)}|{options.Key}|init={initializationKey ?? "random"}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];
    }

    /// <summary>
    /// Loads the model trained with these inputs, or seeds, builds, (optionally) initialises and trains
    /// it, then stores it. <paramref name="initialize"/> (e.g. copying pretrained weights) must be
    /// described by <paramref name="initializationKey"/>, which enters the cache key.
    /// </summary>
    public CachedModel GetOrTrain(ModelSpec spec, TensorDataset train, TensorDataset? test, TrainOptions options,
        IProgressSink? progress = null, Device? device = null,
        Action<nn.Module<Tensor, Tensor>>? initialize = null, string? initializationKey = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        if (initialize is not null && string.IsNullOrEmpty(initializationKey))
            throw new ArgumentException("initializationKey must describe initialize (it is part of the cache key); got none.", nameof(initializationKey));
        progress ??= NullProgress.Instance;
        device ??= torch.CPU;

        string key = KeyFor(spec, train, options, initializationKey);
        string weights = Path.Combine(Directory, $"{key}.bin"), record = Path.Combine(Directory, $"{key}.json");

        if (File.Exists(weights) && File.Exists(record))
        {
            var model = spec.Build(device);
            try
            {
                ModelIO.Load(model, weights);
                var history = JsonSerializer.Deserialize<CacheRecord>(File.ReadAllText(record), Json)
                    ?? throw new InvalidDataException($"'{record}' is empty.");
                if (history.Key != key) throw new InvalidDataException($"'{record}' belongs to key {history.Key}, not {key}.");
                model.eval();
                var h = new TrainingHistory(history.Epochs);
                return new CachedModel(model, new TrainResult(h, h.Last.TestLoss, h.Last.TestAccuracy, h.TotalSeconds), true, key, weights);
            }
            catch (Exception e) when (e is InvalidDataException or JsonException or IOException or InvalidOperationException)
            {
                model.Dispose();
                Console.Error.WriteLine($"model cache: entry {key} is unreadable ({e.Message}); retraining.");
                File.Delete(weights);
                File.Delete(record);
            }
        }

        TorchRuntime.Seed(options.Seed);
        var fresh = spec.Build(device);
        initialize?.Invoke(fresh);
        var result = Trainer.Fit(fresh, train, test, options, progress, device);
        System.IO.Directory.CreateDirectory(Directory);
        ModelIO.Save(fresh, weights);
        WriteAtomically(record, JsonSerializer.Serialize(new CacheRecord(key, spec.Key, options.Key, initializationKey, result.History.Epochs.ToList()), Json));
        return new CachedModel(fresh, result, false, key, weights);
    }

    static void WriteAtomically(string path, string text)
    {
        string tmp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    // Test metrics of epochs that were not evaluated are NaN, which plain JSON cannot hold.
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    sealed record CacheRecord(string Key, string Spec, string Options, string? Initialization, List<EpochMetrics> Epochs);
}
