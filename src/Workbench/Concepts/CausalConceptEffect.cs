using TorchSharp;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>A CaCE estimate: E[f | do(C = a)] − E[f | do(C = b)] with both means and the number of images.</summary>
public sealed record CausalEffect(double Effect, double MeanDoA, double MeanDoB, long Count);

/// <summary>CaCE of an N-way concept: the effect of every ordered pair of values (a ≠ b) and the mean |effect| over unordered pairs (Table 2's "Avg").</summary>
public sealed record PairwiseCausalEffects(double[,] Effects, double AverageAbsolute);

/// <summary>
/// The causal concept effect (Goyal et al., 2019, Definitions 1 and 2):
/// CaCE(C, f, a, b) = E_g[f(I) | do(C = a)] − E_g[f(I) | do(C = b)]. Given images of the same
/// exogenous draws rendered under do(C = a) and under do(C = b) — by the data generator itself
/// (GT-CaCE) or by a generative model (VAE-CaCE) — it is the mean difference of the model's outputs.
/// </summary>
public static class CausalConceptEffect
{
    /// <summary>The effect from paired interventions: <paramref name="doA"/>[i] and <paramref name="doB"/>[i] differ only in the concept.</summary>
    public static CausalEffect FromInterventions(Func<Tensor, Tensor> f, Tensor doA, Tensor doB, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(doA);
        ArgumentNullException.ThrowIfNull(doB);
        if (doA.dim() < 1 || doA.shape[0] < 1) throw new ArgumentException($"doA must hold at least one image [N, ...]; got [{string.Join(", ", doA.shape)}].", nameof(doA));
        if (!doA.shape.SequenceEqual(doB.shape))
            throw new ArgumentException($"doB must pair with doA image for image ([{string.Join(", ", doA.shape)}]); got [{string.Join(", ", doB.shape)}].", nameof(doB));
        double meanA = MeanOutput(f, doA, batchSize, nameof(doA)), meanB = MeanOutput(f, doB, batchSize, nameof(doB));
        return new CausalEffect(meanA - meanB, meanA, meanB, doA.shape[0]);
    }

    /// <summary>CaCE for every pair of an N-way concept's values; <paramref name="interventions"/>[v] holds the images under do(C = v).</summary>
    public static PairwiseCausalEffects Pairwise(Func<Tensor, Tensor> f, IReadOnlyList<Tensor> interventions, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(interventions);
        if (interventions.Count < 2) throw new ArgumentException($"interventions must hold at least 2 concept values; got {interventions.Count}.", nameof(interventions));
        for (int v = 1; v < interventions.Count; v++)
            if (!interventions[v].shape.SequenceEqual(interventions[0].shape))
                throw new ArgumentException($"interventions[{v}] must pair with interventions[0] image for image ([{string.Join(", ", interventions[0].shape)}]); got [{string.Join(", ", interventions[v].shape)}].", nameof(interventions));
        var means = interventions.Select((x, v) => MeanOutput(f, x, batchSize, $"{nameof(interventions)}[{v}]")).ToArray();
        int k = means.Length;
        var effects = new double[k, k];
        double sum = 0;
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
            {
                effects[a, b] = means[a] - means[b];
                if (a < b) sum += Math.Abs(effects[a, b]);
            }
        return new PairwiseCausalEffects(effects, sum / (k * (k - 1) / 2));
    }

    /// <summary>The model's probability of <paramref name="targetClass"/> (softmax of its logits), evaluated in eval mode without gradients: the f of the tables.</summary>
    public static Func<Tensor, Tensor> ClassProbability(nn.Module<Tensor, Tensor> model, int targetClass)
    {
        if (targetClass < 0) throw new ArgumentOutOfRangeException(nameof(targetClass), targetClass, "targetClass must be >= 0.");
        var probabilities = ClassProbabilities(model);
        return x =>
        {
            var p = probabilities(x);
            if (targetClass >= p.shape[1])
                throw new ArgumentOutOfRangeException(nameof(targetClass), targetClass, $"targetClass must index the logits [batch, classes]; the model returns [{string.Join(", ", p.shape)}].");
            return p.select(1, targetClass);
        };
    }

    /// <summary>All class probabilities [N, K] (softmax of the logits) in eval mode without gradients: f for an N-way concept.</summary>
    public static Func<Tensor, Tensor> ClassProbabilities(nn.Module<Tensor, Tensor> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return x =>
        {
            using var eval = EvalMode.Enter(model);
            using var noGrad = torch.no_grad();
            var logits = model.call(x);
            if (logits.dim() != 2)
                throw new ArgumentException($"the model must return logits [batch, classes]; it returns [{string.Join(", ", logits.shape)}].", nameof(model));
            return logits.softmax(1);
        };
    }

    /// <summary>Mean of f over images in batches; f must return one value per image.</summary>
    public static double MeanOutput(Func<Tensor, Tensor> f, Tensor images, int batchSize = 512, string name = "images")
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        double sum = 0;
        long n = images.shape[0];
        for (long first = 0; first < n; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long m = Math.Min(batchSize, n - first);
            var y = f(images.narrow(0, first, m));
            if (y.numel() != m)
                throw new ArgumentException($"f must return one value per image of {name}; it returned [{string.Join(", ", y.shape)}] for {m} images.", nameof(f));
            sum += y.to_type(ScalarType.Float64).sum().item<double>();
        }
        return sum / n;
    }
}
