using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>What every model-cache record holds besides its payload: its entry's key and the SHA-256 of the weights it belongs to.</summary>
public interface ICacheRecord
{
    string Key { get; }
    string WeightsSha256 { get; }
}

/// <summary>A model from <see cref="ModelCache.GetOrTrain(ModelSpec, TensorDataset, TensorDataset?, TrainOptions, IProgressSink?, Device?, Action{nn.Module{Tensor, Tensor}}?, string?)"/>: trained now, or loaded.</summary>
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
    /// <summary>
    /// Bump when a change to the trainer or the models changes what training produces. trainer-2: models trained before
    /// <see cref="Runtime.ConvolutionGuard"/> may carry oneDNN's wrong float32 convolution gradients.
    /// </summary>
    public const string CodeVersion = "trainer-2";

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
        TrainResult? trained = null;
        var entry = GetOrTrain(key, () => spec.Build(device),
            () =>
            {
                TorchRuntime.Seed(options.Seed);
                var fresh = spec.Build(device);
                initialize?.Invoke(fresh);
                trained = Trainer.Fit(fresh, train, test, options, progress, device);
                return fresh;
            },
            weightsSha256 => new CacheRecord(key, spec.Key, options.Key, initializationKey, trained!.History.Epochs.ToList(), weightsSha256),
            r =>
            {
                if (r.Epochs is null || r.Epochs.Count == 0 || r.Epochs.Any(e => e is null))
                    throw new InvalidDataException($"entry {key} has no training history (Epochs missing or empty).");
            });
        if (trained is null || entry.FromCache) // loaded, or another writer stored the entry first: its history, not ours
        {
            var h = new TrainingHistory(entry.Record.Epochs);
            trained = new TrainResult(h, h.Last.TestLoss, h.Last.TestAccuracy, h.TotalSeconds);
        }
        return new CachedModel(entry.Model, trained, entry.FromCache, key, entry.WeightsPath);
    }

    /// <summary>
    /// The cache's one mechanism, for any module: the entry <paramref name="key"/> is "&lt;key&gt;.bin" (the weights,
    /// <see cref="ModelIO"/>) and "&lt;key&gt;.json" (<typeparamref name="TRecord"/>, checksummed and bound to the
    /// weights' SHA-256). A readable entry is loaded into <paramref name="build"/>() and its record checked by
    /// <paramref name="check"/> (which throws <see cref="InvalidDataException"/> to reject it); an unreadable one —
    /// and only its own two files — is deleted and retrained. Otherwise <paramref name="train"/>() makes the model,
    /// <paramref name="describe"/>(weights' SHA-256) its record, and both are stored atomically. The folder is
    /// checked for writability before training. The cache never deletes a file that is not its key's entry,
    /// apart from temporary files of dead writers (<see cref="AtomicFile.CleanStale"/>).
    /// </summary>
    public (TModel Model, TRecord Record, bool FromCache, string WeightsPath) GetOrTrain<TModel, TRecord>(string key, Func<TModel> build,
        Func<TModel> train, Func<string, TRecord> describe, Action<TRecord>? check = null)
        where TModel : nn.Module where TRecord : class, ICacheRecord
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(describe);
        if (key.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || key.Contains("..") || key.EndsWith(".tmp", StringComparison.Ordinal))
            throw new ArgumentException($"key must be a plain file name (no separators, no '..', not ending in .tmp); got '{key}'.", nameof(key));
        string weights = Path.Combine(Directory, $"{key}.bin"), record = Path.Combine(Directory, $"{key}.json");
        AtomicFile.CleanStale(Directory);

        if (TryLoad(key, weights, record, build, check, deleteIfBad: true) is { } cached) return cached;
        // Where the trained model goes is checked before training, not after: a model that cannot be
        // stored would otherwise cost the whole training run and then be lost.
        foreach (var path in new[] { weights, record })
            if (System.IO.Directory.Exists(path))
                throw new IOException($"model cache: '{path}' is a directory where a cache file belongs. Remove it, or set WORKBENCH_MODELS to another folder.");
        AtomicFile.EnsureWritableDirectory(Directory, "The model cache folder (WORKBENCH_MODELS)");

        var fresh = train();
        // Another process may have stored this entry while we trained (two shards of a sweep, two notebooks on one cache):
        // the first complete entry wins and later writers reuse it, so every user of the key gets the same weights even
        // where training is not bitwise reproducible (another thread count or CPU). A bad entry is left to its writer.
        if (TryLoad(key, weights, record, build, check, deleteIfBad: false) is { } stored)
        {
            fresh.Dispose();
            return stored;
        }
        try
        {
            ModelIO.Save(fresh, weights);
            var made = describe(DatasetStore.Sha256(weights));
            WriteRecord(record, made);
            return (fresh, made, false, weights);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder stopped being writable during training (disk filled, permissions changed):
            // the trained model is still good, so hand it back rather than lose it.
            Console.Error.WriteLine($"model cache: could not store entry {key} in '{Directory}' ({e.Message}); " +
                                    "using the trained model without caching it. Free space or fix the folder's permissions.");
            AtomicFile.TryDelete(weights);
            AtomicFile.TryDelete(record);
            return (fresh, describe(""), false, weights);
        }
    }

    /// <summary>The entry's model and record when both files are there and pass their checks, else null (a bad entry —
    /// only its own two files — is deleted when <paramref name="deleteIfBad"/>, to be retrained).</summary>
    static (TModel Model, TRecord Record, bool FromCache, string WeightsPath)? TryLoad<TModel, TRecord>(string key, string weights, string record,
        Func<TModel> build, Action<TRecord>? check, bool deleteIfBad)
        where TModel : nn.Module where TRecord : class, ICacheRecord
    {
        if (!File.Exists(weights) || !File.Exists(record)) return null;
        var model = build();
        try
        {
            ModelIO.Load(model, weights);
            var stored = ReadRecord<TRecord>(record, key, weights);
            check?.Invoke(stored);
            model.eval();
            return (model, stored, true, weights);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException or InvalidOperationException or UnauthorizedAccessException or NotSupportedException)
        {
            model.Dispose();
            if (!deleteIfBad) return null;
            Console.Error.WriteLine($"model cache: entry {key} is unreadable ({e.Message}); retraining.");
            AtomicFile.TryDelete(weights);
            AtomicFile.TryDelete(record);
            return null;
        }
    }

    /// <summary>
    /// The record is stored as {"Sha256": h, "Record": {...}} with h the SHA-256 of the record's exact
    /// text, and the record names the SHA-256 of its weights file: an edited, truncated or planted record,
    /// or one paired with other weights, fails here like corrupt weights do. This catches accidents
    /// (edits, partial copies, mixed entries), not an adversary who can write the folder and recompute hashes.
    /// </summary>
    static TRecord ReadRecord<TRecord>(string path, string key, string weights) where TRecord : class, ICacheRecord
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (doc.RootElement.ValueKind != JsonValueKind.Object
            || !doc.RootElement.TryGetProperty("Sha256", out var hash) || hash.ValueKind != JsonValueKind.String
            || !doc.RootElement.TryGetProperty("Record", out var body) || body.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{path}' is not a model-cache record (no Sha256/Record).");
        string text = body.GetRawText();
        if (Hash(text) != hash.GetString())
            throw new InvalidDataException($"'{path}' is corrupt or was edited: its SHA-256 does not match the recorded one.");
        var r = body.Deserialize<TRecord>(Json) ?? throw new InvalidDataException($"'{path}' holds an empty record.");
        if (r.Key != key) throw new InvalidDataException($"'{path}' belongs to key {r.Key}, not {key}.");
        if (r.WeightsSha256 != DatasetStore.Sha256(weights))
            throw new InvalidDataException($"'{path}' does not belong to the weights '{weights}' (their SHA-256 differs from the recorded one).");
        return r;
    }

    static void WriteRecord<TRecord>(string path, TRecord record)
    {
        string body = JsonSerializer.Serialize(record, Json);
        AtomicFile.WriteAllText(path, $"{{\"Sha256\":\"{Hash(body)}\",\"Record\":{body}}}");
    }

    static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    // Test metrics of epochs that were not evaluated are NaN, which plain JSON cannot hold.
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    sealed record CacheRecord(string Key, string Spec, string Options, string? Initialization, List<EpochMetrics> Epochs, string WeightsSha256) : ICacheRecord;
}
