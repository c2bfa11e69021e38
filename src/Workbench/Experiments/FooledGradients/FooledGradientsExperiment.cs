using Microsoft.Data.Analysis;
using Plotly.NET;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Data;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Experiments.FooledGradients;

/// <summary>Experiment E2 (seed 001): logit gradients can be made arbitrary without changing any prediction.</summary>
public sealed record FooledGradientsConfig
{
    public DatasetName Dataset { get; init; } = DatasetName.Mnist;
    public int TrainImages { get; init; } = 60_000;
    public int Epochs { get; init; } = 1;
    public int Images { get; init; } = 1000;
    /// <summary>Amplitude A of g(x) = A · ⟨pattern, x⟩ (the pattern has unit L2 norm).</summary>
    public double Amplitude { get; init; } = 50;
    public int Seed { get; init; }
    public static FooledGradientsConfig Quick { get; } = new() { TrainImages = 10_000, Images = 200 };
}

public sealed record FooledGradientsResult(DataFrame Table, DataFrame Claims, GenericChart SideBySide, double MaxSoftmaxDifference,
    double PredictionAgreement, double RankCorrelationOriginalVsFooled, double RankCorrelationFooledVsPattern, double TestAccuracy);

public static class FooledGradientsExperiment
{
    /// <summary>A fixed, structured pattern: seeded noise blurred into smooth blobs, unit L2 norm, [1, 28, 28].</summary>
    public static Tensor Pattern(int seed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed + 4242);
        var noise = torch.randn(new long[] { 1, 1, 28, 28 }, generator: g);
        var smooth = Baselines.Blurred(noise, 2.5)[0];
        return (smooth / smooth.norm()).MoveToOuterDisposeScope();
    }

    public static FooledGradientsResult Run(FooledGradientsConfig config, IProgressSink? progress = null, ModelCache? cache = null)
    {
        progress ??= NullProgress.Instance;
        cache ??= new ModelCache();
        using var data = Workbench.Data.Datasets.Load(config.Dataset, progress: progress);
        using var train = data.Train.Take(config.TrainImages);
        var trained = cache.GetOrTrain(new ModelSpec("cnn"), train, data.Test, new TrainOptions { Epochs = config.Epochs, Seed = config.Seed }, progress);
        using var model = trained.Model;
        model.eval();
        using var pattern = Pattern(config.Seed);
        using var fooled = new FooledLogits(model, FooledLogits.LinearPattern(pattern, config.Amplitude));
        using var x = data.Test.Inputs.narrow(0, 0, config.Images);
        using var y = data.Test.Labels.narrow(0, 0, config.Images);

        double maxDiff;
        using (torch.no_grad())
        {
            using var p = nn.functional.softmax(model.call(x), 1);
            using var q = nn.functional.softmax(fooled.call(x), 1);
            maxDiff = (p - q).abs().max().item<float>();
        }
        double agreement = ModelMetrics.PredictionAgreement(model, fooled, x);
        var target = Target.PerExample(y);
        using var original = new Saliency(model, absolute: false).Attribute(x, target);
        using var changed = new Saliency(fooled, absolute: false).Attribute(x, target);
        using var patternMaps = pattern.unsqueeze(0).expand_as(x).contiguous();
        var rhoOriginal = SpearmanRankCorrelation.Evaluate(original.Map, changed.Map, absolute: false);
        var rhoPattern = SpearmanRankCorrelation.Evaluate(changed.Map, patternMaps, absolute: false);
        var rhoOriginalAbs = SpearmanRankCorrelation.Evaluate(original.Map, changed.Map, absolute: true);

        var table = new DataFrame(
            new StringDataFrameColumn("quantity", new[] { "test accuracy of f", "max |softmax(f) − softmax(f̃)|", "prediction agreement f vs f̃",
                "Spearman(∇f_y, ∇f̃_y), signed", "Spearman(∇f_y, ∇f̃_y), absolute", "Spearman(∇f̃_y, pattern), signed" }),
            new DoubleDataFrameColumn("value", new[] { trained.Result.TestAccuracy, maxDiff, agreement, rhoOriginal.Mean, rhoOriginalAbs.Mean, rhoPattern.Mean }),
            new DoubleDataFrameColumn("std over images", new[] { double.NaN, double.NaN, double.NaN, rhoOriginal.Std, rhoOriginalAbs.Std, rhoPattern.Std }));
        var claims = new[]
        {
            new Claim("softmax outputs of f and f̃ agree to ~1e-6", $"max diff {maxDiff:E2}, agreement {agreement:P1}", "identical predictions", maxDiff < 1e-5 && agreement == 1.0),
            new Claim("gradient maps of f and f̃ are unrelated (rank correlation near 0)", $"ρ = {rhoOriginal.Mean:F3} ± {rhoOriginal.Std:F3}", "arbitrary gradients", Math.Abs(rhoOriginal.Mean) < 0.1),
            new Claim("f̃'s gradients follow the chosen g instead", $"ρ(∇f̃, pattern) = {rhoPattern.Mean:F3}", "∇f̃ = ∇f + ∇g", rhoPattern.Mean > 0.9),
        };
        using var scope = torch.NewDisposeScope();
        var show = x[..4];
        var figure = AttributionFigures.Grid(show, new[]
        {
            ("gradient of f", original.Map[..4]), ("gradient of f̃", changed.Map[..4]), ("pattern ∇g", patternMaps[..4]),
        }, MapSign.Signed);
        return new FooledGradientsResult(table, ClaimsTable.ToDataFrame(claims), figure, maxDiff, agreement, rhoOriginal.Mean, rhoPattern.Mean, trained.Result.TestAccuracy);
    }
}
