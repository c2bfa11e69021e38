using TorchSharp;
using Workbench.Models;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

public class ModelCacheTests
{
    static readonly ModelSpec Spec = new("mlp", Classes: 2);
    static readonly TrainOptions Options = new() { Epochs = 1, BatchSize = 32 };

    static float[] Outputs(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using var noGrad = torch.no_grad();
        using var y = model.call(x);
        return y.data<float>().ToArray();
    }

    [Fact]
    public void Second_request_is_served_from_cache_with_identical_outputs()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(128, seed: 11);
        using var test = TrainingFixtures.HalfBrightness(64, seed: 12);
        var cache = new ModelCache(dir);
        var first = cache.GetOrTrain(Spec, train, test, Options);
        var second = cache.GetOrTrain(Spec, train, test, Options);
        using (first.Model) using (second.Model)
        {
            Assert.False(first.FromCache);
            Assert.True(second.FromCache);
            Assert.Equal(first.Key, second.Key);
            Assert.Equal(first.Result.TestAccuracy, second.Result.TestAccuracy);
            Assert.Equal(Outputs(first.Model, test.Inputs), Outputs(second.Model, test.Inputs));
        }
        Directory.Delete(dir, true);
    }

    /// <summary>
    /// Issue #18: two writers of one key (two sweep shards): the one that finishes second finds the entry stored meanwhile and
    /// reuses it instead of replacing it, so both hand out the same weights — even when its own training gave other weights.
    /// </summary>
    [Fact]
    public void A_writer_that_finishes_second_reuses_the_entry_stored_meanwhile()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(128, seed: 11);
        using var test = TrainingFixtures.HalfBrightness(64, seed: 12);
        CachedModel? first = null;
        // The other writer's network starts from other weights, so the two trainings differ.
        static void OtherStart(nn.Module<Tensor, Tensor> m) { using var g = torch.no_grad(); foreach (var p in m.parameters()) p.fill_(0.01); }
        // While this writer is about to train, the other one trains the same key and stores it.
        void Meanwhile(nn.Module<Tensor, Tensor> m) => first = new ModelCache(dir).GetOrTrain(Spec, train, test, Options, initialize: OtherStart, initializationKey: "same");
        var second = new ModelCache(dir).GetOrTrain(Spec, train, test, Options, initialize: Meanwhile, initializationKey: "same");
        using (first!.Model) using (second.Model)
        {
            Assert.False(first.FromCache);
            Assert.True(second.FromCache);
            Assert.Equal(first.Key, second.Key);
            Assert.Equal(Outputs(first.Model, test.Inputs), Outputs(second.Model, test.Inputs));
            using var again = new ModelCache(dir).GetOrTrain(Spec, train, test, Options, initialize: OtherStart, initializationKey: "same").Model;
            Assert.Equal(Outputs(first.Model, test.Inputs), Outputs(again, test.Inputs));
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Key_changes_with_seed_data_spec_and_initialization()
    {
        using var a = TrainingFixtures.HalfBrightness(64, seed: 13);
        using var b = TrainingFixtures.HalfBrightness(64, seed: 14);
        var k = ModelCache.KeyFor(Spec, a, Options);
        Assert.Equal(k, ModelCache.KeyFor(Spec, a, Options));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec, a, Options with { Seed = 1 }));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec, b, Options));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec with { Activation = ActivationKind.Softplus }, a, Options));
        Assert.NotEqual(k, ModelCache.KeyFor(Spec, a, Options, initializationKey: "pretrained:abc"));
    }

    [Fact]
    public void Corrupt_entry_is_detected_and_retrained()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(128, seed: 15);
        var cache = new ModelCache(dir);
        var first = cache.GetOrTrain(Spec, train, null, Options);
        var reference = Outputs(first.Model, train.Inputs);
        first.Model.Dispose();

        // Flip a byte in the middle of the weights file.
        var bytes = File.ReadAllBytes(first.WeightsPath);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(first.WeightsPath, bytes);

        var again = cache.GetOrTrain(Spec, train, null, Options);
        using (again.Model)
        {
            Assert.False(again.FromCache);
            Assert.Equal(reference, Outputs(again.Model, train.Inputs)); // retrained deterministically
        }
        Directory.Delete(dir, true);
    }

    // A record with a field removed, renamed or nulled, or an edited number, is never served: the
    // entry is retrained (same seed, so the same accuracy as the first run, not the edited one).
    [Theory]
    [InlineData("\"Epochs\":", "\"Epochz\":")]
    [InlineData("\"Epochs\":[", "\"Epochs\":null,\"Ignored\":[")]
    [InlineData("\"TestAccuracy\":", "\"TestAccuracy\":0.95625,\"Was\":")]
    [InlineData("\"Key\":", "\"Key\":null,\"K\":")]
    [InlineData("{", "")]
    public void Edited_or_unreadable_record_is_retrained_not_reported(string find, string replace)
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(64, seed: 16);
        using var test = TrainingFixtures.HalfBrightness(32, seed: 17);
        var cache = new ModelCache(dir);
        var first = cache.GetOrTrain(Spec, train, test, Options);
        first.Model.Dispose();
        var record = Path.ChangeExtension(first.WeightsPath, ".json");
        var text = File.ReadAllText(record);
        int at = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{find}' not in the record: {text}");
        File.WriteAllText(record, text[..at] + replace + text[(at + find.Length)..]);

        var again = cache.GetOrTrain(Spec, train, test, Options);
        using (again.Model)
        {
            Assert.False(again.FromCache);
            Assert.Equal(first.Result.TestAccuracy, again.Result.TestAccuracy);
        }
        // The repaired entry is served from the cache again.
        var third = cache.GetOrTrain(Spec, train, test, Options);
        using (third.Model) Assert.True(third.FromCache);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Record_paired_with_other_weights_is_retrained()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(64, seed: 18);
        var cache = new ModelCache(dir);
        var a = cache.GetOrTrain(Spec, train, null, Options);
        var b = cache.GetOrTrain(Spec, train, null, Options with { Seed = 5 });
        a.Model.Dispose(); b.Model.Dispose();
        // Valid weights of another entry under this entry's name: both files are intact on their own.
        File.Copy(b.WeightsPath, a.WeightsPath, overwrite: true);
        var again = cache.GetOrTrain(Spec, train, null, Options);
        using (again.Model) Assert.False(again.FromCache);
        Directory.Delete(dir, true);
    }

    /// <summary>The IOException GetOrTrain throws, asserting it came before any training (initialize runs first).</summary>
    static IOException FailureBeforeTraining(ModelCache cache, Workbench.Data.TensorDataset train)
    {
        bool trained = false;
        var e = Assert.Throws<IOException>(() => cache.GetOrTrain(Spec, train, null, Options, initialize: _ => trained = true, initializationKey: "probe"));
        Assert.False(trained);
        return e;
    }

    [Fact]
    public void Unwritable_cache_folder_fails_before_training_naming_the_folder()
    {
        var root = Directory.CreateTempSubdirectory("modelcache").FullName;
        var blocked = Path.Combine(root, "models");
        File.WriteAllText(blocked, "a file where the cache folder should be");
        using var train = TrainingFixtures.HalfBrightness(64, seed: 19);
        Assert.Contains(blocked, FailureBeforeTraining(new ModelCache(blocked), train).Message);
        Directory.Delete(root, true);
    }

    // L4 with a really read-only folder: an intact entry is still served; a missing one fails before training.
    [Fact]
    public void Read_only_cache_folder_serves_entries_and_refuses_to_train_into_it()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(64, seed: 23);
        var cache = new ModelCache(dir);
        cache.GetOrTrain(Spec, train, null, Options).Model.Dispose();
        using (var readOnly = new ReadOnlyFolder(dir))
        {
            if (readOnly.IsReadOnly)
            {
                var served = cache.GetOrTrain(Spec, train, null, Options);
                using (served.Model) Assert.True(served.FromCache);
                Assert.Contains(dir, FailureBeforeTraining(cache, train).Message);
            }
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Directory_where_a_cache_file_belongs_fails_before_training()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        using var train = TrainingFixtures.HalfBrightness(64, seed: 20);
        var key = ModelCache.KeyFor(Spec, train, Options, "probe");
        Directory.CreateDirectory(Path.Combine(dir, $"{key}.bin"));
        Assert.Contains($"{key}.bin", FailureBeforeTraining(new ModelCache(dir), train).Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Folder_lost_during_training_returns_the_trained_model_uncached()
    {
        var root = Directory.CreateTempSubdirectory("modelcache").FullName;
        var dir = Path.Combine(root, "models");
        using var train = TrainingFixtures.HalfBrightness(64, seed: 21);
        // initialize runs after the writability check: the folder becomes a file while the model trains.
        var cached = new ModelCache(dir).GetOrTrain(Spec, train, null, Options, initialize: _ =>
        {
            Directory.Delete(dir, true);
            File.WriteAllText(dir, "in the way");
        }, initializationKey: "probe");
        using (cached.Model)
        {
            Assert.False(cached.FromCache);
            Assert.True(cached.Result.History.Epochs.Count == Options.Epochs);
            Assert.False(File.Exists(cached.WeightsPath));
        }
        Directory.Delete(root, true);
    }

    [Fact]
    public void Stale_temporary_files_of_dead_writers_are_removed_live_ones_kept()
    {
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        int dead = DeadPid();
        var stale = Path.Combine(dir, $"abc.bin.{dead}.tmp");
        var staleNew = Path.Combine(dir, $"abc.json.{dead}.0a1b2c.tmp");
        var live = Path.Combine(dir, $"abc.bin.{Environment.ProcessId}.tmp");
        foreach (var f in new[] { stale, staleNew, live }) File.WriteAllText(f, "partial");
        using var train = TrainingFixtures.HalfBrightness(64, seed: 22);
        using (new ModelCache(dir).GetOrTrain(Spec, train, null, Options).Model) { }
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(staleNew));
        Assert.True(File.Exists(live));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void The_cache_never_deletes_files_it_does_not_own()
    {
        // Cached CVAEs were once seen disappearing: whatever the cache does — train, reload, retrain a corrupt
        // entry, for classifiers and CVAEs in one folder — every file that is not that key's entry stays as it was.
        var dir = Directory.CreateTempSubdirectory("modelcache").FullName;
        try
        {
            var foreign = new Dictionary<string, string>
            {
                ["cvae-0123456789abcdef01234567.bin"] = "another CVAE's weights",
                ["cvae-0123456789abcdef01234567.json"] = "{\"Sha256\":\"x\",\"Record\":{}}",
                ["0123456789abcdef01234567.bin"] = "another classifier's weights",
                ["0123456789abcdef01234567.json"] = "another classifier's record",
                ["notes.txt"] = "a user's file",
                ["model.bin.bak"] = "a backup",
                [$"other.bin.{Environment.ProcessId}.0a1b2c.tmp"] = "a live writer's temporary file",
            };
            foreach (var (name, text) in foreign) File.WriteAllText(Path.Combine(dir, name), text);
            Directory.CreateDirectory(Path.Combine(dir, "sub"));
            File.WriteAllText(Path.Combine(dir, "sub", "x.bin"), "nested");
            var cache = new ModelCache(dir);

            using var train = TrainingFixtures.HalfBrightness(64, seed: 31);
            var first = cache.GetOrTrain(Spec, train, null, Options);
            first.Model.Dispose();
            File.WriteAllBytes(first.WeightsPath, new byte[] { 1, 2, 3 }); // corrupt: deleted and retrained
            cache.GetOrTrain(Spec, train, null, Options).Model.Dispose();
            cache.GetOrTrain(Spec, train, null, Options).Model.Dispose();

            using var images = torch.rand(40, 1, 4, 4, generator: new torch.Generator(32));
            using var conditions = torch.eye(2).repeat(20, 1);
            var cvaeOptions = new Workbench.Concepts.CvaeOptions { Epochs = 1, Hidden = 8, Seed = 1 };
            Workbench.Concepts.ConditionalVaeCache.FitOrLoad(images, conditions, cvaeOptions, cache).Model.Dispose();
            var cvaeWeights = Directory.GetFiles(dir, "cvae-*.bin").Single(f => !f.Contains("0123456789abcdef01234567"));
            File.WriteAllText(Path.ChangeExtension(cvaeWeights, ".json"), "not json"); // corrupt record: deleted and retrained
            Workbench.Concepts.ConditionalVaeCache.FitOrLoad(images, conditions, cvaeOptions, cache).Model.Dispose();
            Workbench.Concepts.ConditionalVaeCache.FitOrLoad(images, conditions, cvaeOptions, cache).Model.Dispose();

            foreach (var (name, text) in foreign)
                Assert.Equal(text, File.ReadAllText(Path.Combine(dir, name)));
            Assert.Equal("nested", File.ReadAllText(Path.Combine(dir, "sub", "x.bin")));
            // Its own entries are there, one per key: the classifier's and the CVAE's, each weights + record.
            Assert.True(File.Exists(first.WeightsPath) && File.Exists(Path.ChangeExtension(first.WeightsPath, ".json")));
            Assert.True(File.Exists(cvaeWeights) && File.Exists(Path.ChangeExtension(cvaeWeights, ".json")));
            Assert.Equal(foreign.Count + 4, Directory.GetFiles(dir).Length);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_key_that_is_not_a_plain_file_name_is_refused()
    {
        var cache = new ModelCache(Directory.CreateTempSubdirectory("modelcache").FullName);
        foreach (var key in new[] { "../escape", "a/b", "x.tmp", " " })
            Assert.Equal("key", Assert.Throws<ArgumentException>(() => cache.GetOrTrain<nn.Module<Tensor, Tensor>, ProbeRecord>(key,
                () => nn.Linear(1, 1), () => nn.Linear(1, 1), sha => new ProbeRecord(key, sha))).ParamName);
        Directory.Delete(cache.Directory, true);
    }

    sealed record ProbeRecord(string Key, string WeightsSha256) : ICacheRecord;

    internal static int DeadPid()
    {
        for (int pid = 4_000_000; ; pid--)
            if (!Directory.Exists($"/proc/{pid}")) return pid;
    }
}
