using TorchSharp;
using Workbench.Boundaries;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Boundaries;

public class DeepFoolTests
{
    public DeepFoolTests() => TorchRuntime.EnsureLoaded();

    /// <summary>A seeded linear classifier R^d → R^classes.</summary>
    static nn.Module<Tensor, Tensor> Linear(int d, int classes, int seed)
    {
        TorchRuntime.Seed(seed);
        return nn.Linear(d, classes);
    }

    static (Tensor W, Tensor B) Weights(nn.Module<Tensor, Tensor> linear)
    {
        var p = linear.parameters().ToArray();
        return (p[0].detach().to_type(ScalarType.Float64), p[1].detach().to_type(ScalarType.Float64));
    }

    [Fact]
    public void On_a_binary_linear_classifier_the_margin_is_the_distance_to_the_hyperplane()
    {
        using var model = Linear(6, 2, seed: 1);
        TorchRuntime.Seed(2);
        using var x = torch.randn(32, 6);
        using var result = DeepFool.Attack(model, x);
        var (w, b) = Weights(model);
        // Boundary f_1 = f_0: (w1 − w0)·x + (b1 − b0) = 0, distance |…| / ‖w1 − w0‖.
        using var dw = w[1] - w[0];
        using var distance = ((x.to_type(ScalarType.Float64).matmul(dw) + (b[1] - b[0])).abs() / dw.norm());
        var expected = distance.data<double>().ToArray();
        for (int i = 0; i < 32; i++)
        {
            Assert.True(result.Flipped[i]);
            Assert.Equal(1, result.Iterations[i]);
            Assert.Equal(expected[i], result.Margins[i] / 1.02, 4);
            Assert.NotEqual(result.OriginalLabels[i], result.FinalLabels[i]);
        }
        // The perturbation points along ±(w1 − w0).
        using var cos = torch.nn.functional.cosine_similarity(result.Perturbations.to_type(ScalarType.Float64), dw.unsqueeze(0).expand(32, -1), 1).abs();
        Assert.True(cos.min().item<double>() > 1 - 1e-5);
    }

    [Fact]
    public void On_a_multiclass_linear_classifier_the_margin_is_the_nearest_pairwise_hyperplane()
    {
        using var model = Linear(8, 5, seed: 3);
        TorchRuntime.Seed(4);
        using var x = torch.randn(20, 8);
        using var result = DeepFool.Attack(model, x, new DeepFoolOptions { Overshoot = 1e-3 });
        var (w, b) = Weights(model);
        using var logits = x.to_type(ScalarType.Float64).matmul(w.t()) + b;
        for (int i = 0; i < 20; i++)
        {
            long o = result.OriginalLabels[i];
            double best = double.PositiveInfinity;
            for (int k = 0; k < 5; k++)
            {
                if (k == o) continue;
                double f = Math.Abs(logits[i, k].item<double>() - logits[i, o].item<double>());
                double norm = (w[k] - w[o]).norm().item<double>();
                best = Math.Min(best, f / norm);
            }
            Assert.True(result.Flipped[i]);
            Assert.Equal(best, result.Margins[i] / 1.001, 4);
        }
    }

    [Fact]
    public void Within_a_one_dimensional_subspace_the_margin_is_the_distance_along_it()
    {
        using var model = Linear(6, 2, seed: 5);
        TorchRuntime.Seed(6);
        using var x = torch.randn(10, 6);
        using var v = torch.randn(1, 6);
        using var unit = v / v.norm();
        using var line = new Subspace(unit, "v");
        using var result = DeepFool.Attack(model, x, subspace: line);
        var (w, b) = Weights(model);
        using var dw = w[1] - w[0];
        // Along v: |f1 − f0| / |⟨w1 − w0, v⟩|.
        using var along = (x.to_type(ScalarType.Float64).matmul(dw) + (b[1] - b[0])).abs() / unit.to_type(ScalarType.Float64).matmul(dw).abs();
        var expected = along.data<double>().ToArray();
        for (int i = 0; i < 10; i++) Assert.Equal(expected[i], result.Margins[i] / 1.02, 4);
        // Every perturbation lies in span{v}.
        using var residual = result.Perturbations - line.Project(result.Perturbations);
        Assert.True(residual.abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void In_the_subspace_orthogonal_to_the_weights_no_flip_is_found_and_the_example_is_flagged()
    {
        using var model = Linear(6, 2, seed: 7);
        var (w, _) = Weights(model);
        using var dw = (w[1] - w[0]).to_type(ScalarType.Float32).unsqueeze(0);
        using var orthogonal = Subspace.ComplementOf(dw, "⟂ w");
        Assert.Equal(5, orthogonal.Dimension);
        TorchRuntime.Seed(8);
        using var x = torch.randn(4, 6);
        using var result = DeepFool.Attack(model, x, subspace: orthogonal);
        Assert.Equal(4, result.NotFlipped);
        Assert.All(result.Margins, m => Assert.True(double.IsPositiveInfinity(m)));
        Assert.All(result.Flipped, f => Assert.False(f));
        Assert.Equal(result.OriginalLabels, result.FinalLabels);
    }

    [Fact]
    public void A_deep_network_is_flipped_by_its_perturbation_and_batched_subspaces_equal_separate_calls()
    {
        TorchRuntime.Seed(9);
        using var net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4));
        TorchRuntime.Seed(10);
        using var x = torch.randn(12, 10);
        using var a = Subspace.Random(10, 3, seed: 1, "a");
        using var b = Subspace.Random(10, 5, seed: 2, "b");
        var batched = DeepFool.AttackInSubspaces(net, x, new Subspace?[] { a, null, b }, new DeepFoolOptions { BatchSize = 7 });
        using var alone = DeepFool.Attack(net, x, subspace: b);
        using var full = DeepFool.Attack(net, x);
        Assert.Equal(alone.Iterations, batched[2].Iterations);
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal(alone.Margins[i], batched[2].Margins[i], 4);
            Assert.Equal(full.Margins[i], batched[1].Margins[i], 4);
        }
        using (torch.no_grad())
        using (var moved = net.call(x + full.Perturbations).argmax(1))
        {
            var labels = moved.data<long>().ToArray();
            for (int i = 0; i < 12; i++)
                if (full.Flipped[i]) Assert.NotEqual(full.OriginalLabels[i], labels[i]);
        }
        Assert.True(full.NotFlipped == 0, "the full space always has a direction that flips a ReLU net");
        // A subspace is a constraint: the margin in it is never below the full-space margin by more than DeepFool's slack.
        for (int i = 0; i < 12; i++) Assert.True(batched[0].Margins[i] >= 0.9 * full.Margins[i]);
        foreach (var r in batched) r.Dispose();
    }

    [Fact]
    public void The_attack_leaves_the_model_trainable_and_in_its_mode()
    {
        TorchRuntime.Seed(13);
        using var net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3));
        net.train();
        using var x = torch.randn(4, 10);
        using var result = DeepFool.Attack(net, x);
        Assert.All(net.parameters(), p => Assert.True(p.requires_grad));
        Assert.True(net.training);
    }

    [Fact]
    public void Same_inputs_give_the_same_margins()
    {
        TorchRuntime.Seed(11);
        using var net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3));
        using var x = torch.randn(8, 10);
        using var first = DeepFool.Attack(net, x);
        using var second = DeepFool.Attack(net, x);
        Assert.Equal(first.Margins, second.Margins);
    }

    [Fact]
    public void Bad_input_is_an_error_naming_the_argument()
    {
        using var model = Linear(4, 2, seed: 12);
        using var x = torch.randn(3, 4);
        var notOrthonormal = Assert.Throws<ArgumentException>(() => new Subspace(torch.eye(4) * 2));
        Assert.Equal("basis", notOrthonormal.ParamName);
        Assert.Contains("got max |B Bᵀ − I| = 3", notOrthonormal.Message);
        var skewed = Assert.Throws<ArgumentException>(() => new Subspace(torch.tensor(new float[] { 1, 0, 0, 0, 1, 1, 0, 0 }, 2, 4)));
        Assert.Equal("basis", skewed.ParamName);
        var empty = Assert.Throws<ArgumentException>(() => new Subspace(torch.zeros(0, 4)));
        Assert.Equal("basis", empty.ParamName);
        Assert.Contains("empty", empty.Message);
        foreach (var overshoot in new[] { 0.0, -0.1, double.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => DeepFool.Attack(model, x, new DeepFoolOptions { Overshoot = overshoot }));
            Assert.Equal("Overshoot", e.ParamName);
        }
        Assert.Equal("MaxIterations", Assert.Throws<ArgumentOutOfRangeException>(() => DeepFool.Attack(model, x, new DeepFoolOptions { MaxIterations = 0 })).ParamName);
        using var wrongSize = Subspace.Random(5, 2, seed: 0);
        Assert.Equal("subspaces", Assert.Throws<ArgumentException>(() => DeepFool.Attack(model, x, subspace: wrongSize)).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => DeepFool.Attack(model, torch.zeros(0, 4))).ParamName);
    }
}
