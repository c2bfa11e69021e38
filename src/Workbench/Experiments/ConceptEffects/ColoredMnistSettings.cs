namespace Workbench.Experiments.ConceptEffects;

/// <summary>The seed's Table 2 numbers for one σ (Goyal et al., 2019, Colored-MNIST).</summary>
public sealed record SeedColoredMnistRow(double AvgGtCace, double DecCace, double EncDecCace, double ConExp, double Tcav);

public static class ColoredMnistSettings
{
    /// <summary>The seed's σ sweep, in the order of its Table 2 (read as the colour variance per channel; see <see cref="Data.Synthetic.ColoredMnist"/>).</summary>
    public static IReadOnlyList<double> SeedSigmas { get; } = new[] { 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05 };

    /// <summary>The seed's Table 2 (Avg-GT-CaCE, Dec-CaCE, EncDec-CaCE, ConExp, TCAV) by σ.</summary>
    public static IReadOnlyDictionary<double, SeedColoredMnistRow> SeedTable { get; } = new Dictionary<double, SeedColoredMnistRow>
    {
        [0.02] = new(0.094, 0.097, 0.099, 0.154, 0.16),
        [0.025] = new(0.089, 0.092, 0.093, 0.147, 0.155),
        [0.03] = new(0.076, 0.079, 0.08, 0.135, 0.152),
        [0.035] = new(0.068, 0.07, 0.071, 0.133, 0.152),
        [0.04] = new(0.061, 0.063, 0.065, 0.121, 0.139),
        [0.045] = new(0.062, 0.065, 0.066, 0.131, 0.13),
        [0.05] = new(0.058, 0.061, 0.062, 0.118, 0.117),
    };

    public static SeedColoredMnistRow? Seed(double sigma) =>
        SeedTable.FirstOrDefault(p => Math.Abs(p.Key - sigma) < 1e-9).Value;
}
