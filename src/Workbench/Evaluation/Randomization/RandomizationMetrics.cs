using Microsoft.Data.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Similarity of maps after randomizing each layer (in the order randomized) to the original maps.</summary>
public sealed record RandomizationResult(string Mode, IReadOnlyList<(string Layer, MetricResult Similarity)> Layers)
{
    public DataFrame ToDataFrame() => new(
        new StringDataFrameColumn("layer", Layers.Select(l => l.Layer)),
        new DoubleDataFrameColumn("similarity_mean", Layers.Select(l => l.Similarity.Mean)),
        new DoubleDataFrameColumn("similarity_std", Layers.Select(l => l.Similarity.Std)));
}

/// <summary>
/// The model-parameter randomization test of the sanity checks (Adebayo et al., 2018): re-initialise
/// layers — cascading from the logits down, or one at a time (independent) — recompute the maps with
/// the same explainer, and measure their similarity (Spearman on normalised absolute maps by default)
/// to the original maps. A method that ignores the weights stays similar. The model's weights are
/// restored afterwards, whatever happens.
/// </summary>
public static class ModelParameterRandomization
{
    public static RandomizationResult Evaluate(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets, Explainer explainer,
        bool cascading = true, int seed = 0, Func<Tensor, Tensor, MetricResult>? similarity = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        MetricTensors.Batch(inputs, nameof(inputs));
        MetricTensors.Targets(targets, inputs.shape[0]);
        ArgumentNullException.ThrowIfNull(explainer);
        similarity ??= (a, b) => SpearmanRankCorrelation.Evaluate(a, b, absolute: true);
        using var original = explainer(inputs, targets);
        var results = new List<(string, MetricResult)>();
        ForEachStage(model, cascading, seed, layer =>
        {
            using var randomized = explainer(inputs, targets);
            results.Add((layer, similarity(original, randomized)));
        });
        return new RandomizationResult(cascading ? "cascading" : "independent", results);
    }

    /// <summary>The layers the test randomizes, in its order: leaf modules with parameters, from the logits down.</summary>
    public static IReadOnlyList<string> LayersFromLogits(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Randomizable(model).Select(l => l.Name).ToList();
    }

    /// <summary>
    /// The randomization itself, for studies that look at each stage with several methods or measures: re-initialises the
    /// layers of <see cref="LayersFromLogits"/> one stage at a time — cascading (every layer so far) or independent (only
    /// this layer) — and calls <paramref name="visit"/> with the layer's name while the model is in that state. The weights
    /// are restored afterwards, whatever happens.
    /// </summary>
    public static void ForEachStage(nn.Module model, bool cascading, int seed, Action<string> visit)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(visit);
        var layers = Randomizable(model);
        if (layers.Count == 0) throw new ArgumentException("model has no layers with parameters to randomize.", nameof(model));
        var saved = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var g = new torch.Generator((ulong)seed);
        try
        {
            foreach (var (name, layer) in layers)
            {
                if (!cascading) Restore(model, saved);
                using (torch.no_grad())
                    foreach (var p in layer.parameters())
                    {
                        // Re-initialise with the layer's own scale, as a fresh initialisation would.
                        double std = p.numel() > 1 ? p.std().to_type(ScalarType.Float64).item<double>() : 0.1;
                        p.copy_(torch.randn(p.shape, generator: g).to_type(p.dtype) * Math.Max(std, 1e-3));
                    }
                visit(name);
            }
        }
        finally { Restore(model, saved); foreach (var t in saved.Values) t.Dispose(); }
    }

    static List<(string Name, nn.Module Module)> Randomizable(nn.Module model) =>
        model.named_modules()
            .Where(m => m.name.Length > 0 && !m.module.named_children().Any() && m.module.parameters().Any())
            .Select(m => (m.name, m.module)).Reverse().ToList(); // from the logits down

    static void Restore(nn.Module model, Dictionary<string, Tensor> saved)
    {
        using var noGrad = torch.no_grad();
        foreach (var (key, value) in model.state_dict()) value.copy_(saved[key]);
    }
}

/// <summary>Random-logit test (Sixt et al., 2020): similarity between the map for the true class and for a random other class.</summary>
public static class RandomLogit
{
    public static MetricResult Evaluate(Tensor inputs, Tensor targets, int classes, Explainer explainer, int seed = 0)
    {
        MetricTensors.Batch(inputs, nameof(inputs));
        MetricTensors.Targets(targets, inputs.shape[0]);
        MetricTensors.AtLeast(classes, 2, nameof(classes)); // a random other class needs two
        MetricTensors.TargetsInRange(targets, classes);
        ArgumentNullException.ThrowIfNull(explainer);
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed);
        var offset = torch.randint(1, classes, targets.shape, generator: g, dtype: ScalarType.Int64);
        var other = (targets + offset) % classes;
        return SpearmanRankCorrelation.Evaluate(explainer(inputs, targets), explainer(inputs, other));
    }
}
