using TorchSharp;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

public class TrainerTests
{
    static readonly ModelSpec Mlp = new("mlp", Classes: 2);

    [Fact]
    public void Fit_learns_a_learnable_task_and_records_history()
    {
        using var train = TrainingFixtures.HalfBrightness(512, seed: 1);
        using var test = TrainingFixtures.HalfBrightness(256, seed: 2);
        TorchRuntime.Seed(0);
        using var model = Mlp.Build();
        var result = Trainer.Fit(model, train, test, new TrainOptions { Epochs = 3, BatchSize = 32 });
        Assert.Equal(3, result.History.Epochs.Count);
        Assert.True(result.TestAccuracy > 0.9, $"test accuracy {result.TestAccuracy}");
        Assert.True(result.History.Epochs[^1].TrainLoss < result.History.Epochs[0].TrainLoss);
        var frame = result.History.ToDataFrame();
        Assert.Equal(3, frame.Rows.Count);
        Assert.Contains("test_accuracy", frame.Columns.Select(c => c.Name));
        Assert.False(model.training);
    }

    [Fact]
    public void After_each_epoch_the_callback_sees_that_epochs_metrics_and_the_trained_model()
    {
        using var train = TrainingFixtures.HalfBrightness(128, seed: 4);
        TorchRuntime.Seed(0);
        using var model = Mlp.Build();
        var seen = new List<(int Epoch, long Steps, bool Training)>();
        var result = Trainer.Fit(model, train, null, new TrainOptions { Epochs = 3, BatchSize = 32 },
            afterEpoch: e => { seen.Add((e.Epoch, e.Steps, model.training)); model.eval(); });
        Assert.Equal(new[] { 1, 2, 3 }, seen.Select(s => s.Epoch));
        Assert.Equal(new long[] { 4, 8, 12 }, seen.Select(s => s.Steps));
        Assert.All(seen, s => Assert.True(s.Training, "the callback runs right after the epoch's training steps"));
        Assert.Equal(result.History.Epochs.Select(e => e.Epoch), seen.Select(s => s.Epoch));
    }

    [Fact]
    public void Same_seed_and_threads_give_bitwise_identical_weights()
    {
        using var train = TrainingFixtures.HalfBrightness(256, seed: 3);
        var options = new TrainOptions { Epochs = 2, BatchSize = 32, Seed = 7 };
        float[] Run()
        {
            TorchRuntime.Seed(options.Seed);
            using var model = new ModelSpec("cnn", Classes: 2).Build();
            Trainer.Fit(model, train, null, options);
            using var flat = torch.cat(model.parameters().Select(p => p.detach().flatten()).ToArray());
            return flat.data<float>().ToArray();
        }
        var a = Run();
        var b = Run();
        Assert.Equal(a.Length, b.Length);
        Assert.True(a.AsSpan().SequenceEqual(b), "weights differ between two runs with the same seed");

        // A different seed must give different weights (the test could not tell otherwise).
        options = options with { Seed = 8 };
        Assert.False(a.AsSpan().SequenceEqual(Run()));
    }

    [Fact]
    public void Live_tensor_count_does_not_grow_over_epochs()
    {
        using var train = TrainingFixtures.HalfBrightness(256, seed: 4);
        using var test = TrainingFixtures.HalfBrightness(64, seed: 5);
        TorchRuntime.Seed(0);
        using var model = new ModelSpec("cnn", Classes: 2).Build();
        var probe = new LiveTensorProbe();
        Trainer.Fit(model, train, test, new TrainOptions { Epochs = 5, BatchSize = 32 }, probe);
        // Epoch 1 may allocate optimizer state; from then on every epoch must start with the same count.
        Assert.Equal(5, probe.AtEpochStart.Count);
        Assert.All(probe.AtEpochStart.Skip(2), c => Assert.Equal(probe.AtEpochStart[1], c));
    }

    sealed class LiveTensorProbe : IProgressSink
    {
        public List<long> AtEpochStart { get; } = new();
        public IProgressTask Start(string description, long total)
        {
            GC.Collect();
            AtEpochStart.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            return NullProgress.Instance;
        }
    }

    [Fact]
    public void Penalty_enters_the_loss_and_can_differentiate_through_the_inputs()
    {
        using var train = TrainingFixtures.HalfBrightness(256, seed: 6);
        var penalty = new InputGradientNorm();
        TorchRuntime.Seed(0);
        using var plain = Mlp.Build();
        var plainResult = Trainer.Fit(plain, train, null, new TrainOptions { Epochs = 2, BatchSize = 32 });
        TorchRuntime.Seed(0);
        using var penalized = Mlp.Build();
        var penalizedResult = Trainer.Fit(penalized, train, null, new TrainOptions { Epochs = 2, BatchSize = 32, Penalty = penalty, PenaltyWeight = 10 });

        Assert.True(penalty.Calls > 0);
        Assert.Equal(0, plainResult.History.Last.Penalty);
        Assert.True(penalizedResult.History.Last.Penalty > 0);
        // Double backprop reached the weights: the penalized model has a smaller input-gradient norm.
        Assert.True(InputGradientNorm.Measure(penalized, train) < InputGradientNorm.Measure(plain, train));
    }

    /// <summary>1/2 ||d f_y / dx||^2 — a gradient-norm penalty, enough to test the plumbing.</summary>
    sealed class InputGradientNorm : IPenalty
    {
        public int Calls;
        public string Name => "grad-norm-test";
        public string Key => Name;
        public bool RequiresInputGradient => true;

        public Tensor Compute(PenaltyContext c)
        {
            Calls++;
            var fy = c.Logits.gather(1, c.Targets.unsqueeze(1)).sum();
            // retain_graph: the trainer backpropagates through the same graph afterwards.
            var g = torch.autograd.grad(new[] { fy }, new[] { c.Inputs }, create_graph: true, retain_graph: true)[0];
            return g.pow(2).sum() / (2.0 * c.Inputs.shape[0]);
        }

        public static double Measure(nn.Module<Tensor, Tensor> model, Workbench.Data.TensorDataset data)
        {
            using var scope = torch.NewDisposeScope();
            var x = data.Inputs.detach().requires_grad_(true);
            var fy = model.call(x).gather(1, data.Labels.unsqueeze(1)).sum();
            var g = torch.autograd.grad(new[] { fy }, new[] { x })[0];
            return g.pow(2).sum().item<float>() / data.Count;
        }
    }

    /// <summary>
    /// A step budget gives networks trained on sets of different sizes the same number of optimizer updates (seed 000's
    /// split factors); the last pass is cut where the budget ends, and the history records the step count.
    /// </summary>
    [Fact]
    public void A_step_budget_is_the_same_number_of_updates_whatever_the_set_size()
    {
        using var small = TrainingFixtures.HalfBrightness(96, seed: 11);   // 3 batches per pass
        using var large = TrainingFixtures.HalfBrightness(320, seed: 12);  // 10 batches per pass
        var options = new TrainOptions { Steps = 7, BatchSize = 32, Epochs = 50 };
        TrainResult Fit(Workbench.Data.TensorDataset data)
        {
            TorchRuntime.Seed(0);
            using var model = Mlp.Build();
            return Trainer.Fit(model, data, null, options);
        }
        var onSmall = Fit(small);
        var onLarge = Fit(large);
        Assert.Equal(7, onSmall.Steps);
        Assert.Equal(7, onLarge.Steps);
        Assert.Equal(3, onSmall.History.Epochs.Count);                      // 3 + 3 + 1 batches
        Assert.Equal(new long[] { 3, 6, 7 }, onSmall.History.Epochs.Select(e => e.Steps));
        Assert.Single(onLarge.History.Epochs);                              // 7 of 10 batches
        Assert.Equal(3, options.EpochCount(96));
        Assert.Equal(150, (options with { Steps = 0 }).TotalSteps(96));    // without a budget: epochs x batches per pass
        Assert.NotEqual(options.Key, (options with { Steps = 8 }).Key);
        Assert.Equal(new TrainOptions { Epochs = 50 }.Key.Replace("epochs=50", "epochs=steps7"), new TrainOptions { Epochs = 50, Steps = 7 }.Key);
        Assert.Equal("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => new TrainOptions { Steps = -1 }.Validate()).ParamName);
    }

    [Fact]
    public void Schedules_follow_their_definitions()
    {
        var o = new TrainOptions { LearningRate = 0.1, Schedule = LrScheduleKind.Cosine };
        Assert.Equal(0.1, o.LearningRateAt(0, 10, 100), 12);
        Assert.Equal(0.05, o.LearningRateAt(50, 10, 100), 12);
        Assert.True(o.LearningRateAt(99, 10, 100) < 1e-3);
        var s = o with { Schedule = LrScheduleKind.Step, LrStepEpochs = 2, LrDecay = 0.5 };
        Assert.Equal(0.1, s.LearningRateAt(19, 10, 100), 12);
        Assert.Equal(0.05, s.LearningRateAt(20, 10, 100), 12);
        Assert.Equal(0.025, s.LearningRateAt(40, 10, 100), 12);
        var w = o with { Schedule = LrScheduleKind.WarmupCosine };
        Assert.True(w.LearningRateAt(0, 10, 100) < w.LearningRateAt(5, 10, 100));
        Assert.Equal(0.1, w.LearningRateAt(9, 10, 100), 12);
    }

    [Theory]
    [InlineData("BatchSize")]
    [InlineData("Epochs")]
    [InlineData("LearningRate")]
    public void Bad_options_name_the_field(string field)
    {
        var o = field switch
        {
            "BatchSize" => new TrainOptions { BatchSize = 0 },
            "Epochs" => new TrainOptions { Epochs = 0 },
            _ => new TrainOptions { LearningRate = double.NaN },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => o.Validate());
        Assert.Equal(field, e.ParamName);
        Assert.Contains("got", e.Message);
    }

    [Fact]
    public void Divergence_is_reported_not_hidden()
    {
        using var train = TrainingFixtures.HalfBrightness(128, seed: 9);
        TorchRuntime.Seed(0);
        using var model = Mlp.Build();
        var e = Assert.Throws<InvalidOperationException>(() =>
            Trainer.Fit(model, train, null, new TrainOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 1e12, Epochs = 3 }));
        Assert.Contains("diverged", e.Message);
    }
}
