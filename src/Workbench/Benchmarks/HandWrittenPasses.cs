using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Workbench.Benchmarks;

/// <summary>
/// The attribution benchmark's hand-written TorchSharp baselines for methods whose backward pass follows
/// rules: what a user would write for the small CNN (<see cref="Models.SmallCnn"/>: conv 3×3 - ReLU - max
/// pool 2 - conv 3×3 - ReLU - max pool 2 - fc - ReLU - fc) without the library, its forward written out with
/// the model's weights. A method's ratio against these is the library's own cost (hooks, targets,
/// chunking, checks); its ratio against plain gradients is the cost of its rules. Public so the tests can
/// check that each computes the library's map: a baseline that computes something else times nothing.
/// </summary>
public static class HandWrittenPasses
{
    /// <summary>Guided backpropagation: the positive part of the gradient at each ReLU's output, then ReLU's own backward.</summary>
    public static Tensor GuidedBackprop(nn.Module model, Tensor x, long target)
    {
        var w = Weights.Of(model);
        using var enable = torch.enable_grad();
        var input = x.detach().requires_grad_(true);
        var h = PositiveGradient.Apply(F.conv2d(input, w.Conv1, w.Conv1Bias, padding: new long[] { 1, 1 }).relu());
        h = PositiveGradient.Apply(F.conv2d(F.max_pool2d(h, new long[] { 2, 2 }), w.Conv2, w.Conv2Bias, padding: new long[] { 1, 1 }).relu());
        h = PositiveGradient.Apply(F.linear(F.max_pool2d(h, new long[] { 2, 2 }).flatten(1), w.Fc1, w.Fc1Bias).relu());
        var score = F.linear(h, w.Fc2, w.Fc2Bias)[.., target].sum();
        return autograd.grad(new[] { score }, new[] { input })[0];
    }

    /// <summary>
    /// DeepLIFT (rescale rule, Captum's max-pool rule) against <paramref name="baseline"/> [B, ...], the way a
    /// TorchSharp user writes a modified backward pass: the paired batch [x; x'] through the network with each
    /// ReLU and max pool replaced by an autograd function whose backward is its rule (the pool keeps its
    /// winners' indices from its forward), both halves seeded, one autograd pass, (x − x') ⊙ the input half's
    /// multipliers. The linear layers' backward is autograd's, as in the library: written out as transposed
    /// convolutions the backward ran faster (DeepLift 1.08–1.18× that), which is libtorch's choice of
    /// convolution backward, not a cost of the library.
    /// </summary>
    public static Tensor DeepLift(nn.Module model, Tensor x, Tensor baseline, long target)
    {
        var w = Weights.Of(model);
        using var enable = torch.enable_grad();
        var both = torch.cat(new[] { x, baseline }).detach().requires_grad_(true);
        var h = RescaleRelu.Apply(F.conv2d(both, w.Conv1, w.Conv1Bias, padding: new long[] { 1, 1 }));
        h = RescaleRelu.Apply(F.conv2d(MaxPoolRule.Apply(h), w.Conv2, w.Conv2Bias, padding: new long[] { 1, 1 }));
        h = RescaleRelu.Apply(F.linear(MaxPoolRule.Apply(h).flatten(1), w.Fc1, w.Fc1Bias));
        var score = F.linear(h, w.Fc2, w.Fc2Bias)[.., target].sum();
        var multipliers = autograd.grad(new[] { score }, new[] { both })[0];
        return (x - baseline) * multipliers.narrow(0, 0, x.shape[0]);
    }

    const double Epsilon = 1e-10;

    /// <summary>g ⊙ Δa/Δz per unit (the ReLU's derivative, the sign of a, where |Δz| ≤ ε), the same multiplier for both halves.</summary>
    static Tensor Rescale(Tensor g, Tensor z, Tensor a)
    {
        long n = z.shape[0] / 2;
        var dz = z.narrow(0, 0, n) - z.narrow(0, n, n);
        var da = a.narrow(0, 0, n) - a.narrow(0, n, n);
        var multiplier = torch.where(dz.abs().gt(Epsilon), da.div_(dz), a.narrow(0, 0, n).sign());
        return (g.reshape(new[] { 2L }.Concat(multiplier.shape).ToArray()) * multiplier).reshape(g.shape);
    }

    /// <summary>
    /// Per window, with m = max(y, y'): g·(m − y') to the input's winner and g·(y − m) to the baseline's;
    /// a unit's multiplier is what it received over its Δx (its ordinary gradient where |Δx| ≤ ε).
    /// </summary>
    static Tensor MaxPool(Tensor g, Tensor pooled, Tensor winners, Tensor input)
    {
        long n = input.shape[0] / 2;
        var y = pooled.narrow(0, 0, n);
        var yRef = pooled.narrow(0, n, n);
        var m = torch.maximum(y, yRef);
        Tensor Route(Tensor values) => torch.zeros_like(input).flatten(2).scatter_add_(2, winners.flatten(2), values.flatten(2)).reshape(input.shape);
        var routed = Route(g * torch.cat(new[] { m - yRef, y - m }));
        var dx = input.narrow(0, 0, n) - input.narrow(0, n, n);
        var multiplier = (routed.narrow(0, 0, n) + routed.narrow(0, n, n)).div_(dx);
        var halves = new[] { 2L }.Concat(multiplier.shape).ToArray();
        return torch.where(dx.abs().gt(Epsilon), multiplier, Route(g).reshape(halves)).reshape(input.shape);
    }

    /// <summary>The small CNN's weights by their parameter names; an error naming what is missing for any other model.</summary>
    sealed record Weights(Tensor Conv1, Tensor Conv1Bias, Tensor Conv2, Tensor Conv2Bias, Tensor Fc1, Tensor Fc1Bias, Tensor Fc2, Tensor Fc2Bias)
    {
        public static Weights Of(nn.Module model)
        {
            var p = model.named_parameters().ToDictionary(kv => kv.name, kv => (Tensor)kv.parameter);
            Tensor Get(string name) => p.TryGetValue(name, out var t) ? t.detach()
                : throw new ArgumentException($"the hand-written passes are for the small CNN (ModelSpec \"cnn\", no spectral norm or batch norm); the model has no parameter '{name}' (it has {string.Join(", ", p.Keys)}).", nameof(model));
            return new(Get("conv1.weight"), Get("conv1.bias"), Get("conv2.weight"), Get("conv2.bias"), Get("fc1.weight"), Get("fc1.bias"), Get("fc2.weight"), Get("fc2.bias"));
        }
    }

    /// <summary>ReLU whose backward is DeepLIFT's rescale rule.</summary>
    sealed class RescaleRelu : autograd.SingleTensorFunction<RescaleRelu>
    {
        public override string Name => "RescaleRelu";
        public static Tensor Apply(Tensor z) => apply(z);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var z = ((Tensor)vars[0]).detach();
            var a = z.relu();
            ctx.save_for_backward(new List<Tensor> { z, a.detach() });
            return a;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var noGrad = torch.no_grad();
            var saved = ctx.get_saved_variables();
            return new() { Rescale(gradOutput, saved[0], saved[1]) };
        }
    }

    /// <summary>2×2 max pooling whose backward is Captum's DeepLIFT max-pool rule, routed by the winners' indices of its forward.</summary>
    sealed class MaxPoolRule : autograd.SingleTensorFunction<MaxPoolRule>
    {
        public override string Name => "MaxPoolRule";
        public static Tensor Apply(Tensor a) => apply(a);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var a = ((Tensor)vars[0]).detach();
            var (pooled, winners) = F.max_pool2d_with_indices(a, new long[] { 2, 2 });
            ctx.save_for_backward(new List<Tensor> { a, pooled.detach(), winners });
            return pooled;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var noGrad = torch.no_grad();
            var saved = ctx.get_saved_variables();
            return new() { MaxPool(gradOutput, saved[1], saved[2], saved[0]) };
        }
    }

    /// <summary>Identity forward; backward passes only the positive part of the gradient.</summary>
    sealed class PositiveGradient : autograd.SingleTensorFunction<PositiveGradient>
    {
        public override string Name => "PositiveGradient";
        public static Tensor Apply(Tensor t) => apply(t);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).detach();
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) => new() { gradOutput.clamp_min(0) };
    }
}
