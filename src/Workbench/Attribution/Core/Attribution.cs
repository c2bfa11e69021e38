using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The result of one attribution call: the map (the inputs' shape) and what produced it.
/// </summary>
/// <param name="Map">Attribution per input element, same shape as the inputs; for layer methods, per unit of the layer ([B, ...layer]).</param>
/// <param name="Method">The method's name.</param>
/// <param name="Parameters">The method's parameters as used (steps, rule, sigma, layer, ...).</param>
/// <param name="Target">What was explained.</param>
/// <param name="ConvergenceDelta">Per example, Σ map − (F(x) − F(x')) where the method defines it (IG, DeepLIFT, LRP conservation), else null.</param>
/// <param name="ForwardPasses">Calls of the model's forward.</param>
/// <param name="ExamplesEvaluated">Examples pushed through the model in all those calls.</param>
/// <param name="BackwardPasses">Gradient computations.</param>
/// <param name="SwitchedToEval">True when the model was in training mode and was put in eval mode for the call (then restored).</param>
public sealed record Attribution(
    Tensor Map, string Method, IReadOnlyDictionary<string, object> Parameters, string Target,
    Tensor? ConvergenceDelta, long ForwardPasses, long ExamplesEvaluated, long BackwardPasses, bool SwitchedToEval) : IDisposable
{
    public void Dispose()
    {
        Map.Dispose();
        ConvergenceDelta?.Dispose();
    }
}
