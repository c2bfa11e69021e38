namespace Workbench.Concepts;

/// <summary>
/// The linear classifier TCAV trains a CAV with: scikit-learn's SGDClassifier defaults as
/// tensorflow/tcav and captum.concept call it (hinge loss, L2 penalty α = 0.01, learning rate
/// "optimal" η_t = 1 / (α (t₀ + t)), at most 1,000 epochs, stopping after 5 epochs whose summed
/// training loss did not fall by more than tol·n, tol = 1e-3; intercept fitted; examples shuffled
/// every epoch).
/// </summary>
public sealed record SgdClassifierOptions
{
    public double Alpha { get; init; } = 0.01;
    public int MaxEpochs { get; init; } = 1000;
    public double Tolerance { get; init; } = 1e-3;
    public int EpochsWithoutImprovement { get; init; } = 5;
    /// <summary>Seeds the per-epoch shuffle (scikit-learn's own generator cannot be matched; the schedule and updates are its).</summary>
    public int Seed { get; init; }

    public SgdClassifierOptions Validate()
    {
        if (!(Alpha > 0) || !double.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, $"{nameof(Alpha)} must be a finite number > 0.");
        if (MaxEpochs < 1) throw new ArgumentOutOfRangeException(nameof(MaxEpochs), MaxEpochs, $"{nameof(MaxEpochs)} must be >= 1.");
        if (!(Tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, $"{nameof(Tolerance)} must be >= 0.");
        if (EpochsWithoutImprovement < 1)
            throw new ArgumentOutOfRangeException(nameof(EpochsWithoutImprovement), EpochsWithoutImprovement, $"{nameof(EpochsWithoutImprovement)} must be >= 1.");
        return this;
    }
}

/// <summary>A fitted linear classifier: decision w·x + b, positive class where it is > 0.</summary>
public sealed record LinearClassifier(double[] Weights, double Bias, int Epochs, bool Converged)
{
    public double Decision(ReadOnlySpan<float> x)
    {
        if (x.Length != Weights.Length) throw new ArgumentException($"x must have {Weights.Length} features; got {x.Length}.", nameof(x));
        double s = Bias;
        for (int j = 0; j < x.Length; j++) s += Weights[j] * x[j];
        return s;
    }
}

public static class LinearConceptClassifier
{
    /// <summary>
    /// Fits the hinge-loss SGD classifier on rows of <paramref name="features"/> (row-major, n × d)
    /// with labels <paramref name="positive"/> (true = +1). The update per example is scikit-learn's
    /// plain SGD: p = w·x + b; w ← (1 − ηα) w; if y p &lt; 1: w ← w + η y x, b ← b + η y.
    /// </summary>
    public static LinearClassifier Fit(float[] features, int d, IReadOnlyList<bool> positive, SgdClassifierOptions? options = null)
    {
        options = (options ?? new SgdClassifierOptions()).Validate();
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(positive);
        if (d < 1) throw new ArgumentOutOfRangeException(nameof(d), d, "d must be >= 1.");
        int n = positive.Count;
        if (features.Length != (long)n * d)
            throw new ArgumentException($"features must hold {n} rows of {d} values ({(long)n * d}); got {features.Length}.", nameof(features));
        if (!positive.Contains(true) || !positive.Contains(false))
            throw new ArgumentException("positive must hold both classes; got one class only.", nameof(positive));

        double alpha = options.Alpha;
        // scikit-learn's "optimal" schedule: t₀ from the heuristic of Bottou's sgd (typw = sqrt(1/sqrt(α)),
        // η₀ = typw / max(1, |dloss(−typw, 1)|) = typw for the hinge loss), η_t = 1 / (α (t₀ + t − 1)).
        double typw = Math.Sqrt(1.0 / Math.Sqrt(alpha));
        double t0 = 1.0 / (typw * alpha);
        var w = new double[d];
        double b = 0, best = double.PositiveInfinity;
        long t = 1;
        int noImprovement = 0, epoch = 0;
        bool converged = false;
        var order = Enumerable.Range(0, n).ToArray();
        var rng = new Random(options.Seed);
        while (epoch < options.MaxEpochs)
        {
            epoch++;
            rng.Shuffle(order);
            double lossSum = 0;
            foreach (int i in order)
            {
                double eta = 1.0 / (alpha * (t0 + t - 1));
                double y = positive[i] ? 1 : -1;
                var x = features.AsSpan(i * d, d);
                double p = b;
                for (int j = 0; j < d; j++) p += w[j] * x[j];
                double z = y * p;
                lossSum += Math.Max(0, 1 - z);
                double decay = Math.Max(0, 1 - eta * alpha);
                for (int j = 0; j < d; j++) w[j] *= decay;
                if (z <= 1)
                {
                    double update = eta * y;
                    for (int j = 0; j < d; j++) w[j] += update * x[j];
                    b += update;
                }
                t++;
            }
            if (!double.IsFinite(lossSum)) throw new InvalidOperationException($"the CAV classifier diverged at epoch {epoch} (loss {lossSum}); scale the activations.");
            noImprovement = lossSum > best - options.Tolerance * n ? noImprovement + 1 : 0;
            best = Math.Min(best, lossSum);
            if (noImprovement >= options.EpochsWithoutImprovement) { converged = true; break; }
        }
        return new LinearClassifier(w, b, epoch, converged);
    }
}
