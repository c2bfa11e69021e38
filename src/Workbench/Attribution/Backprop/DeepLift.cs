using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// DeepLIFT with the rescale rule (Shrikumar et al., 2017), as modified gradients (Ancona et al.,
/// 2018): the input and its baseline go through the network together; each activation's backward
/// multiplier becomes Δy/Δx between the two (the local derivative where Δx ≈ 0); linear layers keep
/// their gradient. Attribution = (x − x') ⊙ the modified gradient, which sums to F(x) − F(x')
/// (summation-to-delta) for networks of linear layers and elementwise activations. Max-pooling
/// layers keep their ordinary gradient, so with them the sum is approximate (the delta says how much).
/// </summary>
public sealed class DeepLift(AttributionModel model, AttributionSettings? settings = null) : AttributionMethod(model, settings)
{
    const double Epsilon = 1e-10;
    public override string Name => "DeepLift";
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var module = RequireModule();
        var activations = HookScope.Leaves(module, HookScope.IsActivation).ToList();
        var baseline = BaselinePerExample(c);
        using var hooks = new HookScope();
        foreach (var (name, act) in activations)
            hooks.Add(name, act, (input, output) => ModifiedGradient.Replace(input, output, (i, o, g) => g * Rescale(act, i, o)));
        var map = torch.zeros_like(c.Inputs);
        var gap = torch.zeros(c.BatchSize, c.Inputs.dtype, c.Inputs.device); // F(x) − F(x') from the paired pass itself
        // Chunk over examples; each pass carries [x_chunk; x'_chunk] so every activation sees its pairs.
        ForEachChunk(c.BatchSize, (s, n) =>
        {
            var x = c.Inputs.narrow(0, s, n);
            var xb = baseline.narrow(0, s, n);
            using var enable = torch.enable_grad();
            var both = torch.cat(new[] { x, xb }).detach().requires_grad_(true);
            hooks.ResetCounts();
            var output = Model.Forward(both);
            hooks.Audit(Name);
            var scores = c.Target.Score(output.narrow(0, 0, n), s);
            using (torch.no_grad()) gap.narrow(0, s, n).copy_(scores - c.Target.Score(output.narrow(0, n, n), s));
            var grad = Model.Gradient(scores.sum(), both).narrow(0, 0, n);
            map.narrow(0, s, n).copy_((x - xb) * grad);
        }, examplesPerRow: 2);
        return new(map, map.flatten(1).sum(1) - gap);
    }

    /// <summary>Per element of both halves: Δy/Δx, or the local derivative at x where |Δx| is tiny.</summary>
    static Tensor Rescale(nn.Module<Tensor, Tensor> activation, Tensor input, Tensor output)
    {
        long n = input.shape[0] / 2;
        var dx = input.narrow(0, 0, n) - input.narrow(0, n, n);
        var dy = output.narrow(0, 0, n) - output.narrow(0, n, n);
        Tensor local;
        if (activation is TorchSharp.Modules.ReLU)
            local = input.narrow(0, 0, n).gt(0).to_type(input.dtype); // ReLU's derivative, without a second autograd pass
        else
        using (torch.enable_grad())
        {
            // forward(), not call(): the local derivative must not re-enter the hooks.
            var xi = input.narrow(0, 0, n).detach().requires_grad_(true);
            var yi = activation.forward(xi);
            local = autograd.grad(new[] { yi.sum() }, new[] { xi })[0];
        }
        var multiplier = torch.where(dx.abs().gt(Epsilon), dy / torch.where(dx.abs().gt(Epsilon), dx, torch.ones_like(dx)), local);
        return torch.cat(new[] { multiplier, multiplier });
    }
}
