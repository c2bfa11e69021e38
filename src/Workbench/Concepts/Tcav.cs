using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// A TCAV score (Kim et al., 2018, eq. 2): the fraction of the class's inputs whose directional
/// derivative S_{C,k,l}(x) = ∇h_{l,k}(x) · v_C is positive (<see cref="SignCount"/>), and Captum's
/// magnitude variant Σ_x S·[S &gt; 0] / Σ_x |S| (<see cref="Magnitude"/>). <see cref="Derivatives"/> are the S per input.
/// S differentiates the class logit, as Captum does (layer gradient without the input multiply); tensorflow/tcav
/// differentiates the cross-entropy loss and counts S &lt; 0, which also involves the other logits.
/// </summary>
public sealed record TcavScore(double SignCount, double Magnitude, double[] Derivatives);

public static class Tcav
{
    /// <summary>TCAV of class <paramref name="targetClass"/>'s logit at <paramref name="layer"/> along <paramref name="cav"/>, over <paramref name="classInputs"/>.</summary>
    public static TcavScore Score(nn.Module<Tensor, Tensor> model, string layer, Tensor classInputs, int targetClass, ConceptActivationVector cav)
    {
        ArgumentNullException.ThrowIfNull(cav);
        var (activations, gradients) = LayerActivations.WithTargetGradient(model, layer, classInputs, targetClass);
        using (activations)
        using (gradients)
            return FromGradients(gradients, cav.Direction);
    }

    /// <summary>TCAV from the logit's gradients at the layer [N, D...] and a CAV direction [D...] (any shape with D values).</summary>
    public static TcavScore FromGradients(Tensor gradients, Tensor direction)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentNullException.ThrowIfNull(direction);
        if (gradients.dim() < 2 || gradients.shape[0] < 1)
            throw new ArgumentException($"gradients must be [N, ...] with N >= 1; got [{string.Join(", ", gradients.shape)}].", nameof(gradients));
        long d = gradients[0].numel();
        if (direction.numel() != d)
            throw new ArgumentException($"direction must have the layer's {d} values per example; got {direction.numel()} (shape [{string.Join(", ", direction.shape)}]).", nameof(direction));
        using var scope = torch.NewDisposeScope();
        var s = gradients.reshape(gradients.shape[0], d).to_type(ScalarType.Float64)
            .matmul(direction.reshape(d).to_type(ScalarType.Float64).to(gradients.device));
        var derivatives = s.cpu().data<double>().ToArray();
        double positive = derivatives.Count(v => v > 0);
        double absSum = derivatives.Sum(Math.Abs);
        double magnitude = absSum == 0 ? 0 : derivatives.Where(v => v > 0).Sum() / absSum;
        return new TcavScore(positive / derivatives.Length, magnitude, derivatives);
    }
}
