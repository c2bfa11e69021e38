using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>
/// The features of one named layer of a model, read by a forward hook through <c>call()</c> (the mechanism Grad-CAM
/// and TCAV use): batch by batch with <see cref="Of"/>, which streams a dataset of any size through constant memory,
/// or for a whole dataset with <see cref="Collect"/>, which writes each batch into one preallocated tensor and refuses
/// (naming <c>maxBytes</c>) a result larger than its memory bound. The model runs in eval mode without gradients; the
/// hook stays registered until the object is disposed.
/// </summary>
public sealed class LayerFeatures : IDisposable
{
    readonly nn.Module<Tensor, Tensor> _model;
    readonly HookScope _hooks = new();
    Tensor? _captured;

    public string Layer { get; }

    public LayerFeatures(nn.Module<Tensor, Tensor> model, string layer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layer);
        _model = model;
        Layer = layer;
        var module = HookScope.Layer(model, layer);
        // Keep an alias of the layer's output and pass an alias on (containers dispose what they pass along).
        _hooks.Add(layer, module, (input, output) => { _captured = output.alias(); return _captured.alias(); });
    }

    /// <summary>
    /// The layer's output for one batch [n, ...] as float32, detached, in the caller's dispose scope (open a
    /// <c>torch.NewDisposeScope()</c> per batch so a loop does not grow the live tensor count).
    /// </summary>
    public Tensor Of(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.dim() < 2 || batch.shape[0] < 1)
            throw new ArgumentException($"batch must be [n, ...] with n >= 1; got [{string.Join(", ", batch.shape)}].", nameof(batch));
        using var eval = EvalMode.Enter(_model);
        using var noGrad = torch.no_grad();
        _hooks.ResetCounts();
        _captured = null;
        using (var scope = torch.NewDisposeScope())
        {
            _model.call(batch);
            if (_hooks.Fired[Layer] == 0)
                throw new ArgumentException($"layer '{Layer}' produced no activations: it did not run in the forward pass (the model bypasses it, or calls forward() instead of call()).", "layer");
            _hooks.Audit("LayerFeatures");
            var output = _captured!;
            if (output.dim() < 1 || output.shape[0] != batch.shape[0] || output.numel() == 0)
                throw new ArgumentException($"layer '{Layer}' must output one feature row per example [{batch.shape[0]}, ...]; it outputs [{string.Join(", ", output.shape)}].", "layer");
            _captured = null;
            return output.detach().to_type(ScalarType.Float32).clone().MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// The layer's features for every input: [N, ...] (or [N, D] with <paramref name="flatten"/>), float32, detached.
    /// Memory: one batch of activations plus the result, which must fit in <paramref name="maxBytes"/>.
    /// </summary>
    public static Tensor Collect(nn.Module<Tensor, Tensor> model, string layer, Tensor inputs, int batchSize = 256, bool flatten = false, long maxBytes = 1L << 30)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.dim() < 2 || inputs.shape[0] < 1)
            throw new ArgumentException($"inputs must be a batch [N, ...] with N >= 1; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        if (maxBytes < 1) throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "maxBytes must be >= 1.");
        using var features = new LayerFeatures(model, layer);
        long n = inputs.shape[0];
        Tensor? all = null;
        try
        {
            for (long first = 0; first < n; first += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                long count = Math.Min(batchSize, n - first);
                var f = features.Of(inputs.narrow(0, first, count));
                if (flatten) f = f.reshape(count, -1);
                if (all is null)
                {
                    long bytes = f.numel() / count * n * sizeof(float);
                    if (bytes > maxBytes)
                        throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes,
                            $"the features of layer '{layer}' for {n} inputs take {bytes:N0} bytes, more than maxBytes = {maxBytes:N0}; " +
                            "stream them batch by batch with LayerFeatures.Of, or raise maxBytes.");
                    var shape = f.shape.ToArray();
                    shape[0] = n;
                    all = torch.empty(shape, ScalarType.Float32).MoveToOuterDisposeScope();
                }
                all.narrow(0, first, count).copy_(f);
            }
            return all!;
        }
        catch
        {
            all?.Dispose();
            throw;
        }
    }

    public void Dispose() => _hooks.Dispose();
}
