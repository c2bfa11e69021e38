using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>How a CAV is trained: the classifier and the stratified hold-out (tensorflow/tcav: 33 %).</summary>
public sealed record CavOptions
{
    public SgdClassifierOptions Classifier { get; init; } = new();
    /// <summary>The fraction of each set held out to measure the classifier's accuracy (stratified).</summary>
    public double TestFraction { get; init; } = 0.33;
    public int Seed { get; init; }

    public CavOptions Validate()
    {
        Classifier.Validate();
        if (!(TestFraction > 0 && TestFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(TestFraction), TestFraction, $"{nameof(TestFraction)} must be in (0, 1).");
        return this;
    }
}

/// <summary>
/// A concept activation vector (Kim et al., 2018): the unit normal v_C of a linear classifier that
/// separates a layer's activations of concept examples from those of negative (random) examples,
/// oriented towards the concept. <see cref="HeldOutAccuracy"/> is measured on the stratified
/// hold-out; <see cref="AtChance"/> flags a classifier not distinguishable from guessing (accuracy
/// within two binomial standard errors of 0.5): its direction is noise, and <see cref="Warning"/> says so.
/// </summary>
public sealed record ConceptActivationVector(
    Tensor Direction, double HeldOutAccuracy, int TrainCount, int TestCount, int Epochs, bool Converged, bool AtChance, string? Warning) : IDisposable
{
    /// <summary>
    /// Trains the CAV on activations [n_c, D] (concept) and [n_r, D] (negative). Both sets are cut to
    /// the smaller one's size, as tensorflow/tcav balances them (the first rows are kept).
    /// </summary>
    public static ConceptActivationVector Train(Tensor conceptActivations, Tensor negativeActivations, CavOptions? options = null)
    {
        options = (options ?? new CavOptions()).Validate();
        ArgumentNullException.ThrowIfNull(conceptActivations);
        ArgumentNullException.ThrowIfNull(negativeActivations);
        CheckSet(conceptActivations, nameof(conceptActivations));
        CheckSet(negativeActivations, nameof(negativeActivations));
        if (!conceptActivations.shape.Skip(1).SequenceEqual(negativeActivations.shape.Skip(1)))
            throw new ArgumentException(
                $"negativeActivations must have the concept's activation shape [n, {string.Join(", ", conceptActivations.shape.Skip(1))}]; got [{string.Join(", ", negativeActivations.shape)}].",
                nameof(negativeActivations));
        int n = (int)Math.Min(conceptActivations.shape[0], negativeActivations.shape[0]);
        int d = (int)conceptActivations[0].numel();
        float[] Rows(Tensor t) => t.narrow(0, 0, n).reshape(n, d).to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        var concept = Rows(conceptActivations);
        var negative = Rows(negativeActivations);

        // Stratified split: the same number of test rows from each set (at least one, leaving at least one to train on).
        int test = Math.Clamp((int)Math.Round(options.TestFraction * n), 1, n - 1);
        var rng = new Random(options.Seed);
        var conceptOrder = Enumerable.Range(0, n).ToArray();
        var negativeOrder = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(conceptOrder);
        rng.Shuffle(negativeOrder);
        var train = new List<(float[] Rows, int Row, bool Concept)>();
        var held = new List<(float[] Rows, int Row, bool Concept)>();
        for (int i = 0; i < n; i++)
        {
            (i < test ? held : train).Add((concept, conceptOrder[i], true));
            (i < test ? held : train).Add((negative, negativeOrder[i], false));
        }
        var features = new float[train.Count * d];
        for (int i = 0; i < train.Count; i++) Array.Copy(train[i].Rows, train[i].Row * d, features, i * d, d);
        var classifier = LinearConceptClassifier.Fit(features, d, train.Select(r => r.Concept).ToList(), options.Classifier with { Seed = options.Seed });

        int correct = held.Count(r => classifier.Decision(r.Rows.AsSpan(r.Row * d, d)) > 0 == r.Concept);
        double accuracy = (double)correct / held.Count;
        bool atChance = accuracy <= 0.5 + 2 * Math.Sqrt(0.25 / held.Count);
        double norm = Math.Sqrt(classifier.Weights.Sum(v => v * v));
        string? warning = null;
        if (norm == 0)
            warning = "the classifier's weights are all zero: the CAV has no direction (the sets' activations may be identical).";
        else if (atChance)
            warning = $"the CAV classifier is at chance (held-out accuracy {accuracy:F3} on {held.Count} examples, chance 0.5): the concept is not linearly separable from the negative set at this layer, so the CAV's direction is noise.";
        var unit = classifier.Weights.Select(v => (float)(norm == 0 ? 0 : v / norm)).ToArray();
        var direction = torch.tensor(unit).reshape(conceptActivations.shape.Skip(1).ToArray());
        return new ConceptActivationVector(direction, accuracy, train.Count, held.Count, classifier.Epochs, classifier.Converged, atChance || norm == 0, warning);
    }

    /// <summary>Trains the CAV of <paramref name="layer"/> from concept and negative example inputs (their activations are read by a hook).</summary>
    public static ConceptActivationVector Train(nn.Module<Tensor, Tensor> model, string layer, Tensor conceptInputs, Tensor negativeInputs, CavOptions? options = null)
    {
        CheckCount(conceptInputs, nameof(conceptInputs));
        CheckCount(negativeInputs, nameof(negativeInputs));
        using var concept = LayerActivations.Collect(model, layer, conceptInputs);
        using var negative = LayerActivations.Collect(model, layer, negativeInputs);
        return Train(concept, negative, options);
    }

    static void CheckCount(Tensor set, string name)
    {
        ArgumentNullException.ThrowIfNull(set, name);
        if (set.dim() < 1 || set.shape[0] < 2)
            throw new ArgumentException($"{name} must hold at least 2 examples; got [{string.Join(", ", set.shape)}].", name);
    }

    static void CheckSet(Tensor set, string name)
    {
        CheckCount(set, name);
        if (set.dim() < 2 || set[0].numel() == 0)
            throw new ArgumentException($"{name} must be activations [n, ...] with at least one value per example; got [{string.Join(", ", set.shape)}].", name);
        using var finite = set.isfinite().all();
        if (!finite.item<bool>()) throw new ArgumentException($"{name} holds NaN or infinite activations.", name);
    }

    public void Dispose() => Direction.Dispose();
}
