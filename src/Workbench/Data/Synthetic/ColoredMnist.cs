using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Data.Synthetic;

/// <summary>
/// Colored-MNIST images with what generated them: the grey digits, the colour each was tinted with, the
/// exogenous colour noise, and the concept C = the palette colour nearest to the colour (0–9).
/// <see cref="WithColour"/> re-renders the same digits with only the colour changed: do(C = c), for GT-CaCE.
/// </summary>
public sealed record ColoredMnistSet(TensorDataset Data, Tensor Grey, Tensor Colours, Tensor Concept, double Sigma) : IDisposable
{
    /// <summary>The number of concept values (palette colours).</summary>
    public const int ColourCount = 10;

    public long Count => Data.Count;

    /// <summary>
    /// Every digit re-rendered in palette colour <paramref name="colour"/> (its prototype, no noise): the
    /// intervention do(C = colour). Shape, stroke and position are the observed digit's; only the colour moves.
    /// </summary>
    public Tensor WithColour(int colour)
    {
        ColoredMnist.CheckColour(colour, nameof(colour));
        using var scope = torch.NewDisposeScope();
        var palette = ColoredMnist.Palette();
        return ColoredMnist.Render(Grey, palette[colour].expand(Count, 3)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One-hot conditions [N, 20] = (colour concept 0–9, digit label 0–9) for a conditional generative model;
    /// <paramref name="colour"/> forces the colour part (do(C = colour)), the label part stays observed.
    /// </summary>
    public Tensor Conditions(int? colour = null)
    {
        if (colour is int v) ColoredMnist.CheckColour(v, nameof(colour));
        using var scope = torch.NewDisposeScope();
        var c = colour is int value ? torch.full(new[] { Count }, value, dtype: ScalarType.Int64) : Concept;
        var onehot = torch.cat(new[]
        {
            nn.functional.one_hot(c, ColourCount).to_type(ScalarType.Float32),
            nn.functional.one_hot(Data.Labels, Data.Classes).to_type(ScalarType.Float32),
        }, 1);
        return onehot.MoveToOuterDisposeScope();
    }

    /// <summary>The first <paramref name="n"/> images with their factors (a new set; this one is unchanged).</summary>
    public ColoredMnistSet Take(long n)
    {
        n = Math.Min(n, Count);
        return new ColoredMnistSet(Data.Take(n), Grey.narrow(0, 0, n).clone(), Colours.narrow(0, 0, n).clone(), Concept.narrow(0, 0, n).clone(), Sigma);
    }

    public void Dispose()
    {
        Data.Dispose();
        Grey.Dispose();
        Colours.Dispose();
        Concept.Dispose();
    }
}

/// <summary>
/// Colored-MNIST as the CaCE paper uses it (Goyal et al., 2019, Table 2; the data set of Kim et al., 2019,
/// "Learning Not to Learn"): each digit is tinted with a colour drawn around its class's mean colour,
/// colour = clip(μ_label + √σ·ε, 0, 1), ε ~ N(0, I₃). σ is the colour's <b>variance</b> per channel (the data
/// sets of Kim et al. are named by it, "var 0.020 … 0.050"; std √σ ≈ 0.14 … 0.22 on [0, 1]): the larger σ,
/// the more a colour strays towards other classes' means and the weaker the colour–label dependence. The
/// concept C is the palette colour nearest to the drawn colour (what a person would call the colour), so
/// P(C = label) falls as σ grows. Background stays black; pixel = grey digit × colour.
/// </summary>
public static class ColoredMnist
{
    /// <summary>
    /// The ten mean colours (RGB in [0, 1]), one per digit. As in Kim et al. each channel takes the levels
    /// 0.05, 0.15, …, 0.95 once; of the channel permutations we tried (seeds 0–1999) this one keeps the colours
    /// farthest apart (smallest pairwise distance 0.41), so confusions come from σ and not from two near-equal means.
    /// </summary>
    static readonly float[,] MeanColours =
    {
        { 0.05f, 0.55f, 0.65f }, { 0.15f, 0.45f, 0.15f }, { 0.25f, 0.85f, 0.45f }, { 0.35f, 0.15f, 0.35f }, { 0.45f, 0.25f, 0.85f },
        { 0.55f, 0.65f, 0.05f }, { 0.65f, 0.95f, 0.75f }, { 0.75f, 0.05f, 0.55f }, { 0.85f, 0.35f, 0.95f }, { 0.95f, 0.75f, 0.25f },
    };

    /// <summary>The palette [10, 3]: colour c is the mean colour of digit c.</summary>
    public static Tensor Palette()
    {
        var values = new float[ColoredMnistSet.ColourCount * 3];
        Buffer.BlockCopy(MeanColours, 0, values, 0, values.Length * sizeof(float));
        return torch.tensor(values, new long[] { ColoredMnistSet.ColourCount, 3 });
    }

    /// <summary>
    /// Tints grey digits [N, 1, H, W] in [0, 1]. <paramref name="biased"/> = true draws each colour around its
    /// label's mean (the confounded training distribution); false around a mean chosen uniformly at random
    /// (Kim et al.'s unbiased test set; the random concept sets of TCAV). Seeded; the digits are cloned.
    /// </summary>
    public static ColoredMnistSet Generate(TensorDataset mnist, double sigma, int seed, bool biased = true)
    {
        Check(mnist, sigma);
        using var g = new torch.Generator((ulong)seed);
        using var means = biased ? mnist.Labels.clone() : torch.randint(0, ColoredMnistSet.ColourCount, new[] { mnist.Count }, generator: g, dtype: ScalarType.Int64);
        return Draw(mnist, means, sigma, g, FormattableString.Invariant($"colored-{mnist.Name}-var{sigma:R}-{(biased ? "biased" : "random")}-{seed}"));
    }

    /// <summary>Every digit tinted with a colour drawn around palette colour <paramref name="colour"/> (whatever its label): a concept set "digits of colour c" for TCAV.</summary>
    public static ColoredMnistSet Tint(TensorDataset mnist, int colour, double sigma, int seed)
    {
        Check(mnist, sigma);
        CheckColour(colour, nameof(colour));
        using var g = new torch.Generator((ulong)seed);
        using var means = torch.full(new[] { mnist.Count }, colour, dtype: ScalarType.Int64);
        return Draw(mnist, means, sigma, g, FormattableString.Invariant($"colored-{mnist.Name}-var{sigma:R}-colour{colour}-{seed}"));
    }

    static ColoredMnistSet Draw(TensorDataset mnist, Tensor means, double sigma, torch.Generator g, string name)
    {
        using var scope = torch.NewDisposeScope();
        var palette = Palette();
        var noise = torch.randn(new[] { mnist.Count, 3L }, generator: g);
        var colours = (palette.index_select(0, means) + noise * Math.Sqrt(sigma)).clamp(0, 1);
        var grey = mnist.Inputs.to_type(ScalarType.Float32).clone();
        var images = Render(grey, colours);
        var concept = Nearest(colours);
        var data = new TensorDataset(images.MoveToOuterDisposeScope(), mnist.Labels.clone().MoveToOuterDisposeScope(), name, mnist.Classes);
        return new ColoredMnistSet(data, grey.MoveToOuterDisposeScope(), colours.MoveToOuterDisposeScope(), concept.MoveToOuterDisposeScope(), sigma);
    }

    static void Check(TensorDataset mnist, double sigma)
    {
        ArgumentNullException.ThrowIfNull(mnist);
        if (!(sigma >= 0 && double.IsFinite(sigma))) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma (the colour variance per channel) must be a finite number >= 0.");
        if (mnist.Inputs.dim() != 4 || mnist.Inputs.shape[1] != 1)
            throw new ArgumentException($"mnist must hold grey images [N, 1, H, W]; got [{string.Join(", ", mnist.Inputs.shape)}].", nameof(mnist));
        if (mnist.Classes != ColoredMnistSet.ColourCount)
            throw new ArgumentException($"mnist must have {ColoredMnistSet.ColourCount} classes (one mean colour each); got {mnist.Classes}.", nameof(mnist));
        using var scope = torch.NewDisposeScope();
        if (mnist.Count > 0 && (mnist.Inputs.min().item<float>() < 0 || mnist.Inputs.max().item<float>() > 1))
            throw new ArgumentException($"mnist must hold pixels in [0, 1]; got values in [{mnist.Inputs.min().item<float>()}, {mnist.Inputs.max().item<float>()}].", nameof(mnist));
    }

    /// <summary>Grey digits [N, 1, H, W] tinted with colours [N, 3]: [N, 3, H, W].</summary>
    public static Tensor Render(Tensor grey, Tensor colours)
    {
        ArgumentNullException.ThrowIfNull(grey);
        ArgumentNullException.ThrowIfNull(colours);
        if (grey.dim() != 4 || grey.shape[1] != 1)
            throw new ArgumentException($"grey must be grey images [N, 1, H, W]; got [{string.Join(", ", grey.shape)}].", nameof(grey));
        if (colours.dim() != 2 || colours.shape[0] != grey.shape[0] || colours.shape[1] != 3)
            throw new ArgumentException($"colours must be one RGB colour per image [{grey.shape[0]}, 3]; got [{string.Join(", ", colours.shape)}].", nameof(colours));
        return grey * colours.to_type(grey.dtype).unsqueeze(-1).unsqueeze(-1);
    }

    /// <summary>The index of the palette colour nearest (Euclidean, RGB) to each colour [N, 3]: the concept value.</summary>
    public static Tensor Nearest(Tensor colours)
    {
        using var scope = torch.NewDisposeScope();
        using var palette = Palette();
        var d = torch.cdist(colours.to_type(ScalarType.Float32).unsqueeze(0), palette.unsqueeze(0)).squeeze(0);
        return d.argmin(1).MoveToOuterDisposeScope();
    }

    internal static void CheckColour(int colour, string name)
    {
        if (colour < 0 || colour >= ColoredMnistSet.ColourCount)
            throw new ArgumentOutOfRangeException(name, colour, $"{name} must be a palette colour 0–{ColoredMnistSet.ColourCount - 1}; got {colour}.");
    }
}
