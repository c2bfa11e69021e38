using Workbench.Data.Synthetic;

namespace Workbench.Experiments.ConceptEffects;

/// <summary>
/// One row of the seed's Table 1: the percentage of red bars in class 0 (horizontal) and in class 1
/// (vertical). The concept is "green"; P(green | vertical) = 1 − %red(vertical) / 100.
/// </summary>
public sealed record BarsSetting(double PercentRedHorizontal, double PercentRedVertical)
{
    public double PGreenGivenVertical => 1 - PercentRedVertical / 100;
    public double PGreenGivenHorizontal => 1 - PercentRedHorizontal / 100;
    public string Label => FormattableString.Invariant($"{PercentRedHorizontal:00}/{PercentRedVertical:00}");

    /// <summary>
    /// The colour–label dependence P(vertical | green) − P(vertical | red) with balanced classes: the
    /// observational contrast a perfect orientation classifier's ConExp would equal.
    /// </summary>
    public double ColourLabelDependence
    {
        get
        {
            double gv = PGreenGivenVertical, gh = PGreenGivenHorizontal;
            double verticalIfGreen = gv / (gv + gh), verticalIfRed = (1 - gv) / ((1 - gv) + (1 - gh));
            return verticalIfGreen - verticalIfRed;
        }
    }

    /// <summary>BARS images of this setting (label = orientation, concept = colour, confounded as the setting says); <paramref name="ambiguousFraction"/>: see <see cref="Bars.Generate"/>.</summary>
    public BarsSet Generate(int count, int seed, double ambiguousFraction = 0) => Bars.Generate(count, PGreenGivenVertical, PGreenGivenHorizontal, seed, ambiguousFraction: ambiguousFraction);
}

/// <summary>The seed's Table 1 numbers for one setting (Goyal et al., 2019).</summary>
public sealed record SeedBarsRow(double GtCace, double DecCace, double EncDecCace, double ConExp, double Tcav);

public static class BarsSettings
{
    /// <summary>The seed's four settings, in the order of its Table 1.</summary>
    public static IReadOnlyList<BarsSetting> Seed { get; } = new[]
    {
        new BarsSetting(60, 40), new BarsSetting(99, 1), new BarsSetting(98, 2), new BarsSetting(99, 50),
    };

    /// <summary>The seed's Table 1 (GT-CaCE, Dec-CaCE, EncDec-CaCE, ConExp, TCAV) by setting label.</summary>
    public static IReadOnlyDictionary<string, SeedBarsRow> SeedTable { get; } = new Dictionary<string, SeedBarsRow>
    {
        ["60/40"] = new(0.00, 0.02, 0.00, 0.21, 0.76),
        ["99/01"] = new(0.58, 0.59, 0.30, 1.00, 1.00),
        ["98/02"] = new(0.47, 0.49, 0.26, 0.97, 0.96),
        ["99/50"] = new(0.39, 0.44, 0.04, 0.69, 0.96),
    };
}
