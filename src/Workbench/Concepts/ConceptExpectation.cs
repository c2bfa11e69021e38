using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>ConExp's value with the group means and sizes it came from.</summary>
public sealed record ConceptExpectationResult(double Effect, double MeanWithA, double MeanWithB, long CountA, long CountB);

/// <summary>
/// ConExp (Goyal et al., 2019, the baseline of Tables 1–4): E[f(I) | C = a] − E[f(I) | C = b] on
/// observational data — a difference of conditional means that measures correlation, not causation:
/// a model that ignores the concept still gets ConExp ≠ 0 when the concept is confounded with what it reads.
/// </summary>
public static class ConceptExpectation
{
    /// <summary>E[f | C = 1] − E[f | C = 0] for outputs [N] and a binary concept [N] (0/1 or bool).</summary>
    public static ConceptExpectationResult Binary(Tensor outputs, Tensor concept) => Between(outputs, concept, 1, 0);

    /// <summary>E[f | C = a] − E[f | C = b] for outputs [N] and a categorical concept [N] (integer values).</summary>
    public static ConceptExpectationResult Between(Tensor outputs, Tensor concept, long a, long b)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(concept);
        if (outputs.dim() != 1) throw new ArgumentException($"outputs must be one value per example [N]; got [{string.Join(", ", outputs.shape)}].", nameof(outputs));
        if (concept.dim() != 1 || concept.shape[0] != outputs.shape[0])
            throw new ArgumentException($"concept must be one value per example [{outputs.shape[0]}]; got [{string.Join(", ", concept.shape)}].", nameof(concept));
        if (a == b) throw new ArgumentException($"a and b must be different concept values; got {a} for both.", nameof(b));
        using var scope = torch.NewDisposeScope();
        var f = outputs.to_type(ScalarType.Float64).cpu();
        var c = concept.to_type(ScalarType.Int64).cpu();
        (double Mean, long Count) Group(long value, string name)
        {
            var mask = c.eq(value);
            long count = mask.sum().item<long>();
            if (count == 0) throw new ArgumentException($"concept has no example with value {value} ({name}); ConExp needs examples in both groups.", nameof(concept));
            return (f.masked_select(mask).mean().item<double>(), count);
        }
        var (ma, na) = Group(a, nameof(a));
        var (mb, nb) = Group(b, nameof(b));
        return new ConceptExpectationResult(ma - mb, ma, mb, na, nb);
    }
}
