using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Data.Synthetic;

/// <summary>
/// The latent factors of a BARS image: everything needed to render it again. An <paramref name="Ambiguous"/> image
/// shows a square instead of a bar (its orientation cannot be seen; the label is still <paramref name="Vertical"/>).
/// </summary>
public sealed record BarsFactors(bool Vertical, bool Green, int Position, int Thickness, bool Ambiguous = false);

/// <summary>BARS images with their factors; <see cref="Counterfactual"/> re-renders them with only the colour switched.</summary>
public sealed record BarsSet(TensorDataset Data, IReadOnlyList<BarsFactors> Factors, int Size) : IDisposable
{
    /// <summary>The same images with the colour (the concept) switched and nothing else: do(C = not C), for GT-CaCE.</summary>
    public Tensor Counterfactual() => Bars.Render(Factors.Select(f => f with { Green = !f.Green }).ToList(), Size);

    /// <summary>Every image re-rendered with a fixed colour: do(C = green) or do(C = red).</summary>
    public Tensor WithColour(bool green) => Bars.Render(Factors.Select(f => f with { Green = green }).ToList(), Size);

    /// <summary>1 where the bar is green, as a float vector [N].</summary>
    public Tensor GreenIndicator() => torch.tensor(Factors.Select(f => f.Green ? 1f : 0f).ToArray());

    /// <summary>
    /// The concepts as one-hot condition vectors [N, 4] = (red, green, horizontal, vertical), for a
    /// conditional generative model; <paramref name="green"/> forces the colour (do(C = green/red)).
    /// </summary>
    public Tensor Conditions(bool? green = null) => torch.tensor(
        Factors.SelectMany(f =>
        {
            bool g = green ?? f.Green;
            return new[] { g ? 0f : 1f, g ? 1f : 0f, f.Vertical ? 0f : 1f, f.Vertical ? 1f : 0f };
        }).ToArray(), new long[] { Factors.Count, 4 });

    public void Dispose() => Data.Dispose();
}

/// <summary>
/// BARS (Goyal et al., 2019, "Explaining classifiers with Causal Concept Effect"; seed 003): one
/// horizontal (class 0) or vertical (class 1) bar, red or green, on a black RGB canvas. The colour is
/// the concept and is confounded with the label: P(green | class 1) and P(green | class 0) set the
/// bias (the seed's Table 1 settings are 60/40, 99/01, 98/02, 99/50, read as % red in class 0 / class 1,
/// i.e. P(green|1) = 1 - %red(1)). Position and thickness vary at random.
/// </summary>
public static class Bars
{
    /// <summary>The side of an ambiguous image's square.</summary>
    public const int AmbiguousSide = 6;

    /// <summary>
    /// <paramref name="ambiguousFraction"/> of the images (0 by default: the seed's BARS) show a square of side 6 instead
    /// of a bar — their orientation is invisible, so a classifier can only guess, and the colour is the one cue it has.
    /// This is our variant, not the paper's: with unambiguous bars the shape predicts the label perfectly and a CNN
    /// never needs the colour (GT-CaCE = 0 in every setting); with ambiguous images it pays to read the colour.
    /// </summary>
    public static BarsSet Generate(int count, double pGreenGivenVertical, double pGreenGivenHorizontal, int seed, int size = 28, double ambiguousFraction = 0)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be >= 1.");
        CheckProbability(pGreenGivenVertical, nameof(pGreenGivenVertical));
        CheckProbability(pGreenGivenHorizontal, nameof(pGreenGivenHorizontal));
        if (size < 8) throw new ArgumentOutOfRangeException(nameof(size), size, "size must be >= 8.");
        if (!(ambiguousFraction >= 0 && ambiguousFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(ambiguousFraction), ambiguousFraction, "ambiguousFraction must be a fraction in [0, 1].");
        var rng = new Random(seed);
        var factors = new List<BarsFactors>(count);
        for (int i = 0; i < count; i++)
        {
            bool vertical = rng.Next(2) == 1;
            bool green = rng.NextDouble() < (vertical ? pGreenGivenVertical : pGreenGivenHorizontal);
            int thickness = 2 + rng.Next(3);
            int position = rng.Next(1, size - thickness - 1);
            // Drawn only when asked for, so that the seed's BARS (fraction 0) keeps its random sequence.
            bool ambiguous = ambiguousFraction > 0 && rng.NextDouble() < ambiguousFraction;
            factors.Add(new BarsFactors(vertical, green, ambiguous ? 2 + position % (size - AmbiguousSide - 3) : position, thickness, ambiguous));
        }
        var labels = torch.tensor(factors.Select(f => f.Vertical ? 1L : 0L).ToArray());
        return new BarsSet(new TensorDataset(Render(factors, size), labels, $"bars-{count}-{pGreenGivenVertical:R}-{pGreenGivenHorizontal:R}-{seed}{(ambiguousFraction > 0 ? FormattableString.Invariant($"-ambiguous{ambiguousFraction:R}") : "")}", 2), factors, size);
    }

    /// <summary>Renders factors as float32 RGB images [N, 3, size, size] in [0, 1].</summary>
    public static Tensor Render(IReadOnlyList<BarsFactors> factors, int size)
    {
        var pixels = new float[factors.Count * 3 * size * size];
        for (int n = 0; n < factors.Count; n++)
        {
            var f = factors[n];
            int channel = f.Green ? 1 : 0;
            int offset = (n * 3 + channel) * size * size;
            if (f.Ambiguous)
            {
                // A square at (Position, Position): the same picture for either orientation.
                for (int row = f.Position; row < f.Position + AmbiguousSide; row++)
                    for (int col = f.Position; col < f.Position + AmbiguousSide; col++) pixels[offset + row * size + col] = 1f;
                continue;
            }
            for (int a = f.Position; a < f.Position + f.Thickness; a++)
                for (int b = 2; b < size - 2; b++)
                {
                    var (row, col) = f.Vertical ? (b, a) : (a, b);
                    pixels[offset + row * size + col] = 1f;
                }
        }
        return torch.tensor(pixels, new long[] { factors.Count, 3, size, size });
    }

    static void CheckProbability(double p, string name)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(name, p, $"{name} must be a probability in [0, 1].");
    }
}
