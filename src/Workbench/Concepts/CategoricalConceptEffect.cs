using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// The N-way effects of a categorical concept on the class probabilities. <see cref="MeanProbabilities"/>[v, k] is
/// the mean P(class k) under concept value v (intervened for CaCE, observed for ConExp); <see cref="Effects"/>[a, b]
/// is the effect of a vs b on f_a = P(class <see cref="ClassOfValue"/>[a]); <see cref="Average"/> is the mean over
/// the <see cref="Pairs"/> ordered pairs a ≠ b that could be measured (for ConExp: both values observed).
/// </summary>
public sealed record CategoricalEffects(double[,] MeanProbabilities, double[,] Effects, double Average, int Pairs, IReadOnlyList<int> ClassOfValue);

/// <summary>
/// CaCE for an N-way categorical concept (Goyal et al., 2019, Definition 2: CaCE(C, f, a, b) =
/// E[f | do(C = a)] − E[f | do(C = b)]) averaged over pairs as the paper's Table 2 does ("Avg-GT-CaCE"), and
/// ConExp with the same f and pairs. The paper does not say which f it explains for Colored-MNIST's ten colours;
/// here f depends on the pair: f_a = P(the class colour a is correlated with), so CaCE(a, b) asks "how much
/// more does the model say class(a) when the digit is painted colour a instead of colour b". Every pair's
/// effect is then positive for a model that uses the colour the way the data suggest, and the average over
/// ordered pairs does not cancel (one f for all pairs would make CaCE(a, b) = −CaCE(b, a) and average to 0).
/// </summary>
public static class CategoricalConceptEffect
{
    /// <summary>
    /// From interventions: <paramref name="render"/>(v) gives the same exogenous draws (the same digits, the same
    /// latents) rendered under do(C = v), v = 0 … values − 1; <paramref name="probabilities"/> maps images to class
    /// probabilities [N, K]. <paramref name="classOfValue"/>[v] is the class concept value v is correlated with.
    /// </summary>
    public static CategoricalEffects FromInterventions(Func<Tensor, Tensor> probabilities, int values, Func<int, Tensor> render,
        IReadOnlyList<int> classOfValue, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(render);
        CheckValues(values, classOfValue);
        double[][] means = new double[values][];
        long count = -1;
        for (int v = 0; v < values; v++)
        {
            using var images = render(v) ?? throw new ArgumentException($"render({v}) returned no images.", nameof(render));
            if (count >= 0 && images.shape[0] != count)
                throw new ArgumentException($"render({v}) must give the same {count} draws as render(0); got {images.shape[0]} images.", nameof(render));
            count = images.shape[0];
            means[v] = MeanProbabilities(probabilities, images, batchSize, $"render({v})");
        }
        return FromMeans(means, classOfValue, Enumerable.Repeat(true, values).ToArray());
    }

    /// <summary>
    /// ConExp on observational data: <paramref name="outputProbabilities"/> [N, K] of the observed images and their
    /// concept values [N]. Pairs with a value that never occurs are left out of the average (counted in
    /// <see cref="CategoricalEffects.Pairs"/>); at least one pair must be measurable.
    /// </summary>
    public static CategoricalEffects ConExp(Tensor outputProbabilities, Tensor concept, int values, IReadOnlyList<int> classOfValue)
    {
        ArgumentNullException.ThrowIfNull(outputProbabilities);
        ArgumentNullException.ThrowIfNull(concept);
        CheckValues(values, classOfValue);
        if (outputProbabilities.dim() != 2)
            throw new ArgumentException($"outputProbabilities must be [N, classes]; got [{string.Join(", ", outputProbabilities.shape)}].", nameof(outputProbabilities));
        if (concept.dim() != 1 || concept.shape[0] != outputProbabilities.shape[0])
            throw new ArgumentException($"concept must be one value per example [{outputProbabilities.shape[0]}]; got [{string.Join(", ", concept.shape)}].", nameof(concept));
        CheckClasses(classOfValue, outputProbabilities.shape[1]);
        using var scope = torch.NewDisposeScope();
        var p = outputProbabilities.to_type(ScalarType.Float64).cpu();
        var c = concept.to_type(ScalarType.Int64).cpu();
        var means = new double[values][];
        var observed = new bool[values];
        for (int v = 0; v < values; v++)
        {
            var mask = c.eq(v);
            observed[v] = mask.any().item<bool>();
            means[v] = observed[v] ? p[mask].mean(new long[] { 0 }).data<double>().ToArray() : new double[p.shape[1]];
        }
        if (observed.Count(o => o) < 2)
            throw new ArgumentException($"concept must take at least two of the values 0–{values - 1} for ConExp; it takes {observed.Count(o => o)}.", nameof(concept));
        return FromMeans(means, classOfValue, observed);
    }

    /// <summary>Mean class probabilities [K] of <paramref name="probabilities"/> over images, in batches.</summary>
    public static double[] MeanProbabilities(Func<Tensor, Tensor> probabilities, Tensor images, int batchSize = 512, string name = "images")
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be >= 1.");
        long n = images.shape[0];
        if (n < 1) throw new ArgumentException($"{name} must hold at least one image; got none.", nameof(images));
        double[]? sum = null;
        for (long first = 0; first < n; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long m = Math.Min(batchSize, n - first);
            var y = probabilities(images.narrow(0, first, m));
            if (y.dim() != 2 || y.shape[0] != m)
                throw new ArgumentException($"probabilities must return [batch, classes] for {name}; it returned [{string.Join(", ", y.shape)}] for {m} images.", nameof(probabilities));
            var s = y.to_type(ScalarType.Float64).sum(new long[] { 0 }).cpu().data<double>().ToArray();
            sum ??= new double[s.Length];
            for (int k = 0; k < s.Length; k++) sum[k] += s[k];
        }
        return sum!.Select(v => v / n).ToArray();
    }

    static CategoricalEffects FromMeans(double[][] means, IReadOnlyList<int> classOfValue, bool[] measurable)
    {
        int values = means.Length, classes = means[0].Length;
        CheckClasses(classOfValue, classes);
        var m = new double[values, classes];
        for (int v = 0; v < values; v++)
            for (int k = 0; k < classes; k++) m[v, k] = means[v][k];
        var effects = new double[values, values];
        double sum = 0;
        int pairs = 0;
        for (int a = 0; a < values; a++)
            for (int b = 0; b < values; b++)
            {
                if (a == b || !measurable[a] || !measurable[b]) { effects[a, b] = a == b ? 0 : double.NaN; continue; }
                int k = classOfValue[a];
                effects[a, b] = m[a, k] - m[b, k];
                sum += effects[a, b];
                pairs++;
            }
        return new CategoricalEffects(m, effects, sum / pairs, pairs, classOfValue.ToArray());
    }

    static void CheckValues(int values, IReadOnlyList<int> classOfValue)
    {
        if (values < 2) throw new ArgumentOutOfRangeException(nameof(values), values, "values must be >= 2 (a pair of concept values).");
        ArgumentNullException.ThrowIfNull(classOfValue);
        if (classOfValue.Count != values)
            throw new ArgumentException($"classOfValue must name one class per concept value ({values}); got {classOfValue.Count}.", nameof(classOfValue));
    }

    static void CheckClasses(IReadOnlyList<int> classOfValue, long classes)
    {
        for (int v = 0; v < classOfValue.Count; v++)
            if (classOfValue[v] < 0 || classOfValue[v] >= classes)
                throw new ArgumentOutOfRangeException(nameof(classOfValue), classOfValue[v], $"classOfValue[{v}] must be a class 0–{classes - 1} of the model's output; got {classOfValue[v]}.");
    }
}
