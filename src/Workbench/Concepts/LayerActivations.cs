using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using Workbench.Representations;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// A named layer's activations, flattened per example to [N, D], and the gradient of a class logit
/// with respect to them: what CAVs are trained on and what TCAV differentiates (Kim et al., 2018,
/// Sec. 3; Captum's LayerActivation / LayerGradientXActivation without the multiply). The layer is
/// read by a forward hook through <c>call()</c>, as Grad-CAM does; the model runs in eval mode.
/// </summary>
public static class LayerActivations
{
    /// <summary>The activations of <paramref name="layer"/> for every input, flattened: [N, D] float32, detached.</summary>
    public static Tensor Collect(nn.Module<Tensor, Tensor> model, string layer, Tensor inputs, int batchSize = 256)
    {
        Check(model, inputs, batchSize);
        return LayerFeatures.Collect(model, layer, inputs, batchSize, flatten: true, maxBytes: long.MaxValue);
    }

    /// <summary>
    /// The activations h [N, D] of <paramref name="layer"/> and ∂f_k/∂h [N, D], f_k the logit of
    /// <paramref name="targetClass"/>: TCAV's S_{C,k,l}(x) = ∇h_{l,k}(f_l(x)) · v_C is their rows' product with the CAV.
    /// </summary>
    public static (Tensor Activations, Tensor Gradients) WithTargetGradient(nn.Module<Tensor, Tensor> model, string layer, Tensor inputs, int targetClass, int batchSize = 256)
    {
        Check(model, inputs, batchSize);
        if (targetClass < 0) throw new ArgumentOutOfRangeException(nameof(targetClass), targetClass, "targetClass must be >= 0.");
        var (a, g) = Run(model, layer, inputs, targetClass, batchSize);
        return (a, g!);
    }

    /// <summary>One hooked pass per batch with the gradient of the target logit w.r.t. the layer's output (activations alone: <see cref="LayerFeatures"/>).</summary>
    static (Tensor Activations, Tensor? Gradients) Run(nn.Module<Tensor, Tensor> model, string layer, Tensor inputs, int? targetClass, int batchSize)
    {
        var hooked = HookScope.Layer(model, layer);
        var acts = new List<Tensor>();
        var grads = new List<Tensor>();
        using var eval = EvalMode.Enter(model);
        for (long first = 0; first < inputs.shape[0]; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long n = Math.Min(batchSize, inputs.shape[0] - first);
            Tensor? kept = null;
            using var hooks = new HookScope();
            // Keep an alias of the layer's output and pass an alias of it on (containers dispose what they pass along).
            hooks.Add(layer, hooked, (input, output) => { kept = output.alias(); return kept.alias(); });
            using var gradMode = targetClass is null ? torch.no_grad() : torch.enable_grad();
            var x = inputs.narrow(0, first, n).detach().requires_grad_(targetClass is not null);
            var logits = model.call(x);
            Audit(hooks, layer);
            acts.Add(Flatten(kept!.detach(), layer, n).clone().MoveToOuterDisposeScope());
            if (targetClass is int k) grads.Add(Flatten(TargetGradient(logits, kept!, k, layer), layer, n).clone().MoveToOuterDisposeScope());
        }
        return (Concatenate(acts), targetClass is null ? null : Concatenate(grads));
    }

    static Tensor TargetGradient(Tensor logits, Tensor kept, int targetClass, string layer)
    {
        if (logits.dim() != 2 || targetClass >= logits.shape[1])
            throw new ArgumentOutOfRangeException(nameof(targetClass), targetClass,
                $"targetClass must index the model's logits [batch, classes]; the model returns [{string.Join(", ", logits.shape)}].");
        if (!kept.requires_grad)
            throw new ArgumentException($"layer '{layer}' is not on the path from the input to the logits (its output carries no gradient).", nameof(layer));
        var score = logits.select(1, targetClass).sum();
        var grad = torch.autograd.grad(new[] { score }, new[] { kept }, allow_unused: true)[0];
        if (grad is null || grad.IsInvalid)
            throw new ArgumentException($"the logit of class {targetClass} does not depend on layer '{layer}'.", nameof(layer));
        return grad;
    }

    static Tensor Concatenate(List<Tensor> parts)
    {
        var all = torch.cat(parts.ToArray());
        foreach (var p in parts) p.Dispose();
        return all;
    }

    static void Check(nn.Module<Tensor, Tensor> model, Tensor inputs, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.dim() < 2 || inputs.shape[0] < 1)
            throw new ArgumentException($"inputs must be a batch [N, ...] with N >= 1; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
    }

    static void Audit(HookScope hooks, string layer)
    {
        if (hooks.Fired[layer] == 0)
            throw new ArgumentException($"layer '{layer}' produced no activations: it did not run in the forward pass (the model bypasses it, or calls forward() instead of call()).", nameof(layer));
        hooks.Audit("LayerActivations");
    }

    static Tensor Flatten(Tensor output, string layer, long n)
    {
        if (output.dim() < 1 || output.shape[0] != n || output.numel() == 0)
            throw new ArgumentException($"layer '{layer}' must output one activation row per example [{n}, ...]; it outputs [{string.Join(", ", output.shape)}].", nameof(layer));
        return output.reshape(n, -1).to_type(ScalarType.Float32);
    }
}
