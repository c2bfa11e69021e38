using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Concepts;
using Workbench.Data.Synthetic;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.ConceptEffects;

/// <summary>The figures of E6's Colored-MNIST part: estimators vs σ, digits with their colour counterfactuals.</summary>
public static class ColoredMnistFigures
{
    /// <summary>One line per estimator over σ (ours), the seed's Table 2 values as markers of the same name.</summary>
    public static GenericChart Estimators(IReadOnlyList<ColoredMnistSigmaResult> results)
    {
        var estimators = new (string Name, Func<ColoredMnistSigmaResult, double> Ours, Func<SeedColoredMnistRow, double> Seed)[]
        {
            ("Avg-GT-CaCE", r => r.GtCace.Average, s => s.AvgGtCace),
            ("Dec-CaCE", r => r.DecCace.Average, s => s.DecCace),
            ("EncDec-CaCE", r => r.EncDecCace.Average, s => s.EncDecCace),
            ("ConExp", r => r.ConExp.Average, s => s.ConExp),
            ("TCAV", r => r.TcavScore, s => s.Tcav),
        };
        var sigmas = results.Select(r => r.Sigma).ToArray();
        var traces = new List<GenericChart>();
        foreach (var (name, ours, seed) in estimators)
        {
            traces.Add(CSharpChart.Line<double, double, string>(x: sigmas, y: results.Select(ours), Name: name, ShowMarkers: true));
            traces.Add(CSharpChart.Point<double, double, string>(x: ColoredMnistSettings.SeedTable.Keys, y: ColoredMnistSettings.SeedTable.Values.Select(seed),
                Name: $"{name} (seed)"));
        }
        return ConceptFigures.Titled("Colored-MNIST: estimators vs σ (lines: ours; markers: the seed's Table 2)",
            CSharpChart.Combine(traces)
                .WithXAxisStyle<double, double, string>(TitleText: "σ (colour variance per channel)")
                .WithYAxisStyle<double, double, string>(TitleText: "mean effect on P(class of the colour) (TCAV: score)"));
    }

    /// <summary>Each digit (row) as observed and re-rendered under do(C = c) for the given palette colours: only the colour moves.</summary>
    public static GenericChart Counterfactuals(ColoredMnistSet examples, IReadOnlyList<int>? colours = null)
    {
        colours ??= Enumerable.Range(0, ColoredMnistSet.ColourCount).ToArray();
        using var scope = torch.NewDisposeScope();
        var columns = new List<(string, Tensor)> { ("observed", examples.Data.Inputs) };
        columns.AddRange(colours.Select(c => ($"do(C={c})", examples.WithColour(c))));
        return ConceptFigures.ImageGrid(columns);
    }

    /// <summary>The CVAE's counterfactuals: each digit encoded with its observed colour and label, decoded under do(C = c).</summary>
    public static GenericChart VaeCounterfactuals(ConditionalVae vae, ColoredMnistSet examples, IReadOnlyList<int>? colours = null)
    {
        colours ??= Enumerable.Range(0, ColoredMnistSet.ColourCount).ToArray();
        using var scope = torch.NewDisposeScope();
        var z = VaeCausalConceptEffect.PosteriorMeans(vae, examples.Data.Inputs, examples.Conditions());
        var columns = new List<(string, Tensor)> { ("observed", examples.Data.Inputs) };
        columns.AddRange(colours.Select(c => ($"CVAE do(C={c})", VaeCausalConceptEffect.DecodeAll(vae, z, examples.Conditions(c)))));
        return ConceptFigures.ImageGrid(columns);
    }
}
