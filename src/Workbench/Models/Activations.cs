using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Models;

public enum ActivationKind { ReLU, Softplus }

static class Activations
{
    /// <summary>A fresh activation module. Each use site gets its own instance, so a hook per
    /// activation (guided backprop, DeepLIFT) sees every use exactly once.</summary>
    public static nn.Module<Tensor, Tensor> Create(ActivationKind kind, double beta) => kind switch
    {
        ActivationKind.ReLU => nn.ReLU(),
        // Softplus(beta) -> ReLU as beta -> inf; seed 001 needs it because a ReLU net's Hessian is 0 almost everywhere.
        ActivationKind.Softplus => nn.Softplus(beta),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation"),
    };
}
