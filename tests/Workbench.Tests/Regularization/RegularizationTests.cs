using TorchSharp;
using Workbench.Regularization;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Regularization;

public class RegularizationTests
{
    /// <summary>A smooth two-logit model in float64: logit 0 = Σ a_j softplus(w_j·x + b_j), logit 1 = 0.</summary>
    sealed class SmoothModel
    {
        readonly Tensor _w, _b, _a;
        public SmoothModel(int inputs, int hidden, int seed)
        {
            TorchRuntime.EnsureLoaded();
            var g = new torch.Generator((ulong)seed);
            _w = torch.randn(new long[] { hidden, inputs }, ScalarType.Float64, generator: g);
            _b = torch.randn(new long[] { hidden }, ScalarType.Float64, generator: g);
            _a = torch.randn(new long[] { hidden }, ScalarType.Float64, generator: g);
        }

        public Tensor Forward(Tensor x)
        {
            var f = nn.functional.softplus(x.matmul(_w.t()) + _b).matmul(_a);
            return torch.stack(new[] { f, torch.zeros_like(f) }, 1);
        }

        /// <summary>The exact Hessian trace at each row of x, by differentiating the gradient once per input dimension.</summary>
        public double[] ExactTrace(Tensor x)
        {
            var xr = x.detach().clone().requires_grad_(true);
            var f = Forward(xr)[.., 0].sum();
            var g = autograd.grad(new[] { f }, new[] { xr }, create_graph: true, retain_graph: true)[0];
            var trace = torch.zeros(x.shape[0], ScalarType.Float64);
            for (long i = 0; i < x.shape[1]; i++)
            {
                var gii = autograd.grad(new[] { g[.., i].sum() }, new[] { xr }, retain_graph: true)[0][.., i];
                trace += gii.detach();
            }
            return trace.data<double>().ToArray();
        }
    }

    [Fact]
    public void Hessian_trace_estimate_converges_to_the_exact_trace_as_samples_grow()
    {
        var model = new SmoothModel(inputs: 3, hidden: 8, seed: 1);
        using var x = torch.randn(new long[] { 1, 3 }, ScalarType.Float64, generator: new torch.Generator(2));
        using var targets = torch.zeros(1, ScalarType.Int64);
        double exact = model.ExactTrace(x)[0];

        double MeanError(int samples)
        {
            double sum = 0;
            for (int seed = 0; seed < 5; seed++)
            {
                using var scope = torch.NewDisposeScope();
                var h = HessianTraceEstimator.Estimate(model.Forward, x, targets, sigma: 0.1, samples, generator: new torch.Generator((ulong)(100 + seed)));
                sum += Math.Abs(h.item<double>() - exact);
            }
            return sum / 5;
        }
        double few = MeanError(100), many = MeanError(20_000), most = MeanError(400_000);
        Assert.True(many < few, $"error did not shrink: {few} -> {many}");
        Assert.True(most < many, $"error did not shrink: {many} -> {most}");
        Assert.True(most < 0.05 * Math.Max(1, Math.Abs(exact)), $"estimate off by {most} for exact trace {exact}");
    }

    [Fact]
    public void Hessian_trace_of_a_quadratic_has_no_bias()
    {
        // f(x) = 1/2 xᵀAx has trace(A) everywhere and zero higher derivatives: mean h = tr(A) + gᵀ(mean v)·2/σ².
        TorchRuntime.EnsureLoaded();
        using var a = torch.diag(torch.tensor(new[] { 1.0, -2.0, 3.0 }));
        Tensor Quadratic(Tensor x) { var f = (x.matmul(a) * x).sum(1) * 0.5; return torch.stack(new[] { f, torch.zeros_like(f) }, 1); }
        using var x = torch.zeros(1, 3, ScalarType.Float64); // gradient 0 at the origin: no first-order noise
        using var targets = torch.zeros(1, ScalarType.Int64);
        using var h = HessianTraceEstimator.Estimate(Quadratic, x, targets, sigma: 0.3, samples: 200_000, generator: new torch.Generator(5));
        Assert.Equal(2.0, h.item<double>(), 1); // tr(A) = 2, Monte-Carlo error ~ 0.01
    }

    [Fact]
    public void Gradient_norm_penalty_gradient_matches_finite_differences()
    {
        TorchRuntime.Seed(3);
        using var model = nn.Sequential(("fc1", nn.Linear(4, 6)), ("act", nn.Softplus(beta: 10)), ("fc2", nn.Linear(6, 3)));
        model.to(ScalarType.Float64);
        using var x0 = torch.randn(new long[] { 5, 4 }, ScalarType.Float64);
        using var y = torch.tensor(new long[] { 0, 1, 2, 1, 0 });
        var penalty = new GradientNormPenalty();

        Tensor R()
        {
            var x = x0.detach().requires_grad_(true);
            var logits = model.call(x);
            return penalty.Compute(new PenaltyContext(model.call, x, logits, y));
        }

        model.zero_grad();
        using (var r = R()) r.backward();
        var weight = model.parameters().First();
        var analytic = weight.grad!.clone();
        const double eps = 1e-6;
        for (int k = 0; k < 6; k++)
        {
            long i = k % weight.shape[0], j = k % weight.shape[1];
            double original = weight[i, j].item<double>();
            double Eval(double v)
            {
                using (torch.no_grad()) weight[i, j] = torch.tensor(v, ScalarType.Float64);
                using var r = R();
                return r.item<double>();
            }
            double numeric = (Eval(original + eps) - Eval(original - eps)) / (2 * eps);
            Eval(original);
            double expected = analytic[i, j].item<double>();
            Assert.True(Math.Abs(numeric - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"[{i},{j}] analytic {expected} vs numeric {numeric}");
        }
    }

    [Fact]
    public void Score_matching_penalty_is_its_three_terms()
    {
        TorchRuntime.Seed(4);
        using var model = nn.Sequential(("fc1", nn.Linear(4, 8)), ("act", nn.Softplus(beta: 10)), ("fc2", nn.Linear(8, 3)));
        model.to(ScalarType.Float64);
        using var x = torch.randn(new long[] { 6, 4 }, ScalarType.Float64).requires_grad_(true);
        using var y = torch.tensor(new long[] { 0, 1, 2, 1, 0, 2 });
        var sm = new ScoreMatchingPenalty(Sigma: 0.01, Tau: 0.5);
        var logits = model.call(x);

        TorchRuntime.Seed(99);
        double total = sm.Compute(new PenaltyContext(model.call, x, logits, y)).item<double>();
        TorchRuntime.Seed(99);
        var h = HessianTraceEstimator.Estimate(model.call, x, y, 0.01);
        var g = TrueClassLogit.InputGradient(logits, y, x, createGraph: false);
        double expected = h.mean().item<double>() + TrueClassLogit.HalfSquaredNorm(g).mean().item<double>() + 0.5 * h.pow(2).mean().item<double>();
        Assert.Equal(expected, total, 9);
    }

    [Fact]
    public void Anti_score_matching_clamps_the_trace_estimate()
    {
        TorchRuntime.Seed(5);
        using var model = nn.Sequential(("fc1", nn.Linear(4, 8)), ("act", nn.Softplus(beta: 10)), ("fc2", nn.Linear(8, 3)));
        model.to(ScalarType.Float64);
        using var x = torch.randn(new long[] { 6, 4 }, ScalarType.Float64);
        using var y = torch.tensor(new long[] { 0, 1, 2, 1, 0, 2 });
        var logits = model.call(x);
        // A threshold below every estimate makes the penalty exactly -threshold.
        var tiny = new AntiScoreMatchingPenalty(Sigma: 0.01, Threshold: -1e9);
        Assert.Equal(1e9, tiny.Compute(new PenaltyContext(model.call, x, logits, y)).item<double>(), 3);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void Bad_sigma_is_rejected_naming_it(double sigma)
    {
        TorchRuntime.EnsureLoaded();
        using var x = torch.zeros(1, 3);
        using var y = torch.zeros(1, ScalarType.Int64);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => HessianTraceEstimator.Estimate(t => torch.zeros(1, 2), x, y, sigma));
        Assert.Equal("sigma", e.ParamName);
    }
}
