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
/// is the weights (<see cref="ModelIO"/>, checksummed) plus a JSON record of the training history,
/// checksummed too and bound to the weights' SHA-256; an entry that fails to load (either file
/// corrupt, edited, missing a field, or the two not belonging together) is deleted and retrained,
/// never used. The folder is checked for writability before training.
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
        return Hash(text)[..24];
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
        AtomicFile.CleanStale(Directory);

        if (TryLoad(spec, key, weights, record, device, deleteIfBad: true) is { } cached) return cached;
        // Where the trained model goes is checked before training, not after: a model that cannot be
        // stored would otherwise cost the whole training run and then be lost.
        foreach (var path in new[] { weights, record })
            if (System.IO.Directory.Exists(path))
                throw new IOException($"model cache: '{path}' is a directory where a cache file belongs. Remove it, or set WORKBENCH_MODELS to another folder.");
        AtomicFile.EnsureWritableDirectory(Directory, "The model cache folder (WORKBENCH_MODELS)");

        TorchRuntime.Seed(options.Seed);
        var fresh = spec.Build(device);
        initialize?.Invoke(fresh);
        var result = Trainer.Fit(fresh, train, test, options, progress, device);
        // Another process may have stored this entry while we trained (two shards of a sweep, two notebooks on one cache):
        // the first complete entry wins and later writers reuse it, so every user of the key gets the same weights even
        // where training is not bitwise reproducible (another thread count or CPU). A bad entry is left to its writer.
        if (TryLoad(spec, key, weights, record, device, deleteIfBad: false) is { } stored)
        {
            fresh.Dispose();
            return stored;
        }
        try
        {
            ModelIO.Save(fresh, weights);
            WriteRecord(record, new CacheRecord(key, spec.Key, options.Key, initializationKey, result.History.Epochs.ToList(), DatasetStore.Sha256(weights)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder stopped being writable during training (disk filled, permissions changed):
            // the trained model is still good, so hand it back rather than lose it.
            Console.Error.WriteLine($"model cache: could not store entry {key} in '{Directory}' ({e.Message}); " +
                                    "using the trained model without caching it. Free space or fix the folder's permissions.");
            AtomicFile.TryDelete(weights);
            AtomicFile.TryDelete(record);
        }
        return new CachedModel(fresh, result, false, key, weights);
    }

    /// <summary>The entry's model and history when both files are there and pass their checks, else null (a bad entry is deleted
    /// when <paramref name="deleteIfBad"/>, to be retrained).</summary>
    static CachedModel? TryLoad(ModelSpec spec, string key, string weights, string record, Device device, bool deleteIfBad)
    {
        if (!File.Exists(weights) || !File.Exists(record)) return null;
        var model = spec.Build(device);
        try
        {
            ModelIO.Load(model, weights);
            var history = ReadRecord(record, key, weights);
            model.eval();
            var h = new TrainingHistory(history.Epochs);
            return new CachedModel(model, new TrainResult(h, h.Last.TestLoss, h.Last.TestAccuracy, h.TotalSeconds), true, key, weights);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            model.Dispose();
            if (!deleteIfBad) return null;
            Console.Error.WriteLine($"model cache: entry {key} is unreadable ({e.Message}); retraining.");
            File.Delete(weights);
            File.Delete(record);
            return null;
        }
    }

    /// <summary>
    /// The record is stored as {"Sha256": h, "Record": {...}} with h the SHA-256 of the record's exact
    /// text, and the record names the SHA-256 of its weights file: an edited, truncated or planted record,
    /// or one paired with other weights, fails here like corrupt weights do. This catches accidents
    /// (edits, partial copies, mixed entries), not an adversary who can write the folder and recompute hashes.
    /// </summary>
    static CacheRecord ReadRecord(string path, string key, string weights)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (doc.RootElement.ValueKind != JsonValueKind.Object
            || !doc.RootElement.TryGetProperty("Sha256", out var hash) || hash.ValueKind != JsonValueKind.String
            || !doc.RootElement.TryGetProperty("Record", out var body) || body.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{path}' is not a model-cache record (no Sha256/Record).");
        string text = body.GetRawText();
        if (Hash(text) != hash.GetString())
            throw new InvalidDataException($"'{path}' is corrupt or was edited: its SHA-256 does not match the recorded one.");
        var r = body.Deserialize<CacheRecord>(Json) ?? throw new InvalidDataException($"'{path}' holds an empty record.");
        if (r.Key != key) throw new InvalidDataException($"'{path}' belongs to key {r.Key}, not {key}.");
        if (r.Epochs is null || r.Epochs.Count == 0 || r.Epochs.Any(e => e is null))
            throw new InvalidDataException($"'{path}' has no training history (Epochs missing or empty).");
        if (r.WeightsSha256 != DatasetStore.Sha256(weights))
            throw new InvalidDataException($"'{path}' does not belong to the weights '{weights}' (their SHA-256 differs from the recorded one).");
        return r;
    }

    static void WriteRecord(string path, CacheRecord record)
    {
        string body = JsonSerializer.Serialize(record, Json);
        AtomicFile.WriteAllText(path, $"{{\"Sha256\":\"{Hash(body)}\",\"Record\":{body}}}");
    }

    static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    // Test metrics of epochs that were not evaluated are NaN, which plain JSON cannot hold.
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    sealed record CacheRecord(string Key, string Spec, string Options, string? Initialization, List<EpochMetrics> Epochs, string WeightsSha256);
}
