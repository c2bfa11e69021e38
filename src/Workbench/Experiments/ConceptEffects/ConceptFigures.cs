using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using Workbench.Concepts;
using Workbench.Data.Synthetic;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Experiments.ConceptEffects;

/// <summary>The figures of E6: estimators vs confounding, images with their counterfactuals, TCAV score distributions.</summary>
public static class ConceptFigures
{
    internal static GenericChart Titled(string title, GenericChart chart) =>
        Plotly.NET.Chart.withTitle(title, Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(chart);

    static Optional<T> Some<T>(T value) => new(value, true);

    /// <summary>One line per estimator over the settings (ours), the seed's Table 1 values as markers of the same name.</summary>
    public static GenericChart Estimators(IReadOnlyList<SettingResult> results, IReadOnlyList<(string Name, Func<SettingResult, double> Ours, Func<SeedBarsRow, double> Seed)>? estimators = null)
    {
        estimators ??= new (string, Func<SettingResult, double>, Func<SeedBarsRow, double>)[]
        {
            ("GT-CaCE", r => r.GtCace.Effect, s => s.GtCace),
            ("Dec-CaCE", r => r.DecCace.Effect, s => s.DecCace),
            ("EncDec-CaCE", r => r.EncDecCace.Effect, s => s.EncDecCace),
            ("ConExp", r => r.ConExp.Effect, s => s.ConExp),
            ("TCAV", r => r.TcavScore, s => s.Tcav),
        };
        var labels = results.Select(r => r.Setting.Label).ToArray();
        var traces = new List<GenericChart>();
        foreach (var (name, ours, seed) in estimators)
        {
            traces.Add(CSharpChart.Line<string, double, string>(x: labels, y: results.Select(ours), Name: name, ShowMarkers: true));
            var seeded = results.Where(r => BarsSettings.SeedTable.ContainsKey(r.Setting.Label)).ToList();
            traces.Add(CSharpChart.Point<string, double, string>(x: seeded.Select(r => r.Setting.Label), y: seeded.Select(r => seed(BarsSettings.SeedTable[r.Setting.Label])),
                Name: $"{name} (seed)"));
        }
        return Titled("Estimators vs confounding (lines: ours; markers: the seed's Table 1)",
            CSharpChart.Combine(traces)
                .WithXAxisStyle<string, string, string>(TitleText: "setting: % red horizontal / % red vertical")
                .WithYAxisStyle<double, double, string>(TitleText: "effect on P(vertical) (TCAV: score)"));
    }

    /// <summary>An RGB image [3, H, W] in [0, 1] as a Plotly image trace.</summary>
    public static GenericChart Rgb(Tensor image)
    {
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ArgumentException($"image must be RGB [3, height, width]; got [{string.Join(", ", image.shape)}].", nameof(image));
        using var scope = torch.NewDisposeScope();
        int h = (int)image.shape[1], w = (int)image.shape[2];
        var bytes = (image.detach().cpu().clamp(0, 1) * 255).round().to_type(ScalarType.Int32).permute(1, 2, 0).contiguous().data<int>().ToArray();
        var z = Enumerable.Range(0, h).Select(r => Enumerable.Range(0, w).Select(c => (IEnumerable<int>)new[] { bytes[(r * w + c) * 3], bytes[(r * w + c) * 3 + 1], bytes[(r * w + c) * 3 + 2] }));
        return CSharpChart.Image<string>(Z: Some<IEnumerable<IEnumerable<IEnumerable<int>>>>(z));
    }

    /// <summary>Each image (row) as drawn, re-rendered under do(colour = green) and under do(colour = red): only the colour moves.</summary>
    public static GenericChart Counterfactuals(BarsSet examples)
    {
        using var green = examples.WithColour(true);
        using var red = examples.WithColour(false);
        return ImageGrid(new[] { ("observed", examples.Data.Inputs), ("do(colour = green)", green), ("do(colour = red)", red) });
    }

    /// <summary>
    /// The CVAE's counterfactuals of the same images: each encoded with its observed concepts and decoded
    /// under do(green) and do(red) (EncDec-CaCE's images), beside the original.
    /// </summary>
    public static GenericChart VaeCounterfactuals(ConditionalVae vae, BarsSet examples)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (mu, _) = vae.Encode(examples.Data.Inputs, examples.Conditions());
        return ImageGrid(new[]
        {
            ("observed", examples.Data.Inputs), ("CVAE do(colour = green)", vae.Decode(mu, examples.Conditions(green: true))),
            ("CVAE do(colour = red)", vae.Decode(mu, examples.Conditions(green: false))),
        });
    }

    /// <summary>RGB images side by side: one row per image, one column per named batch [n, 3, H, W].</summary>
    public static GenericChart ImageGrid(IReadOnlyList<(string Title, Tensor Images)> columns)
    {
        if (columns.Count == 0) throw new ArgumentException("columns must hold at least one batch of images; got none.", nameof(columns));
        long rows = columns[0].Images.shape[0];
        foreach (var (title, images) in columns)
            if (images.shape[0] != rows) throw new ArgumentException($"column '{title}' has {images.shape[0]} images; the first has {rows}.", nameof(columns));
        var charts = new List<GenericChart>();
        for (long i = 0; i < rows; i++)
            foreach (var (_, images) in columns) charts.Add(Rgb(images[i]));
        var grid = CSharpChart.Grid(charts, (int)rows, columns.Count).WithSize(Width: columns.Count * 150 + 80, Height: 150 * (int)rows + 80);
        return Titled(string.Join(" | ", columns.Select(c => c.Title)), grid);
    }

    /// <summary>The CVAE's training curve: the negative ELBO and its reconstruction and KL terms per epoch.</summary>
    public static GenericChart CvaeLoss(CvaeHistory history)
    {
        var epochs = Enumerable.Range(1, history.Loss.Length).ToArray();
        return Titled("Conditional VAE training (mean per image)", CSharpChart.Combine(new[]
            {
                CSharpChart.Line<int, double, string>(x: epochs, y: history.Loss, Name: "−ELBO", ShowMarkers: true),
                CSharpChart.Line<int, double, string>(x: epochs, y: history.Reconstruction, Name: "reconstruction (BCE)", ShowMarkers: true),
                CSharpChart.Line<int, double, string>(x: epochs, y: history.Kl, Name: "KL", ShowMarkers: true),
            }).WithXAxisStyle<int, int, string>(TitleText: "epoch").WithYAxisStyle<double, double, string>(TitleText: "nats per image"));
    }

    /// <summary>Per setting: the TCAV scores of "green" against each random set, and of the reference random set against the same sets, with the t-test's verdict.</summary>
    public static GenericChart TcavDistributions(IReadOnlyList<SettingResult> results)
    {
        var concept = results.SelectMany(r => r.Tcav.ConceptScores.Select(s => ($"{r.Setting.Label}", s))).ToList();
        var random = results.SelectMany(r => r.Tcav.RandomScores.Select(s => ($"{r.Setting.Label}", s))).ToList();
        var verdicts = string.Join("; ", results.Select(r => $"{r.Setting.Label} {(r.Tcav.Significant ? "significant" : "not significant")} (p={r.Tcav.Test.PValue:G2})"));
        return Titled($"TCAV scores: green vs random sets, random vs random<br><sub>{verdicts}</sub>",
            CSharpChart.Combine(new[]
            {
                CSharpChart.BoxPlot<string, double, string>(X: Some(concept.Select(c => c.Item1 + " green")), Y: Some(concept.Select(c => c.s)), Name: "green vs random", BoxPoints: StyleParam.BoxPoints.All),
                CSharpChart.BoxPlot<string, double, string>(X: Some(random.Select(c => c.Item1 + " random")), Y: Some(random.Select(c => c.s)), Name: "random vs random", BoxPoints: StyleParam.BoxPoints.All),
            }).WithYAxisStyle<double, double, string>(TitleText: "TCAV score (fraction of vertical images with S > 0)"));
    }
}
