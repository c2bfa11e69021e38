using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>What a penalty sees of one training step.</summary>
/// <param name="Model">The model's forward (call it for extra passes, e.g. at x + v).</param>
/// <param name="Inputs">The batch; requires grad when the penalty asked for it.</param>
/// <param name="Logits">The model's output on <paramref name="Inputs"/> (part of the graph).</param>
/// <param name="Targets">The labels (int64).</param>
public sealed record PenaltyContext(Func<Tensor, Tensor> Model, Tensor Inputs, Tensor Logits, Tensor Targets);

/// <summary>
/// An extra training-loss term: loss = cross-entropy + lambda * penalty. The score-matching family
/// of seed 001 plugs in here without touching the training loop.
/// </summary>
public interface IPenalty
{
    /// <summary>Short name for histories and tables.</summary>
    string Name { get; }

    /// <summary>Canonical text of the penalty's parameters, part of the model-cache key.</summary>
    string Key { get; }

    /// <summary>True when the penalty differentiates the logits w.r.t. the inputs (double backprop):
    /// the trainer then makes the inputs require grad before the forward pass.</summary>
    bool RequiresInputGradient { get; }

    /// <summary>The scalar penalty for one batch (part of the autograd graph).</summary>
    Tensor Compute(PenaltyContext context);
}
