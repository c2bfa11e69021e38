using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>
/// Deletion and insertion curves (Petsiuk et al., 2018, RISE; pixel flipping, Bach et al., 2015):
/// remove (deletion: most salient first, replaced by the baseline) or add (insertion: starting from
/// the baseline) pixels in `steps` steps and track the target's softmax probability;
/// per-image area under the curve. Lower deletion AUC and higher insertion AUC = more faithful.
/// </summary>
public static class DeletionInsertion
{
    public static (MetricResult Deletion, MetricResult Insertion) Evaluate(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps,
        int steps = 20, double baseline = 0.0, bool useProbability = true)
    {
        MetricTensors.ModelArguments(inputs, targets, maps);
        MetricTensors.AtLeast(steps, 1, nameof(steps));
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        long n = inputs.shape[0], h = inputs.shape[^2], w = inputs.shape[^1], pixels = h * w;
        var score = (maps.dim() == 4 ? maps.sum(1) : maps).reshape(n, pixels);
        var order = (-score).argsort(1); // most salient first
        var rank = torch.empty_like(order).scatter_(1, order, torch.arange(pixels, dtype: ScalarType.Int64).expand(n, -1).contiguous()).reshape(n, 1, h, w);
        var del = torch.zeros(n, steps + 1, dtype: ScalarType.Float64);
        var ins = torch.zeros(n, steps + 1, dtype: ScalarType.Float64);
        using var noGrad = torch.no_grad();
        Tensor Target(Tensor x)
        {
            var o = model.Forward(x);
            return MetricTensors.TargetScore(useProbability && o.dim() == 2 ? nn.functional.softmax(o, 1) : o, targets);
        }
        for (int s = 0; s <= steps; s++)
        {
            var removed = rank.lt((long)Math.Round((double)s / steps * pixels)).to_type(inputs.dtype);
            del[.., s] = Target(inputs * (1 - removed) + baseline * removed);
            ins[.., s] = Target(inputs * removed + baseline * (1 - removed));
        }
        Tensor Auc(Tensor c) => (c.narrow(1, 1, steps) + c.narrow(1, 0, steps)).sum(1) / (2.0 * steps);
        return (MetricResult.From("deletion_auc", Auc(del)), MetricResult.From("insertion_auc", Auc(ins)));
    }
}

/// <summary>
/// Faithfulness correlation (Bhatt et al., 2020): for random subsets S of pixels set to the baseline,
/// the Pearson correlation between Σ_{i∈S} map_i and the drop f(x) − f(x_S), per image.
/// </summary>
public static class FaithfulnessCorrelation
{
    public static MetricResult Evaluate(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps,
        int samples = 50, double subsetFraction = 0.1, double baseline = 0.0, int seed = 0)
    {
        MetricTensors.ModelArguments(inputs, targets, maps);
        MetricTensors.AtLeast(samples, 2, nameof(samples)); // a correlation needs two points
        if (!(subsetFraction > 0 && subsetFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(subsetFraction), subsetFraction, "subsetFraction must be in (0, 1].");
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed);
        long n = inputs.shape[0];
        using var noGrad = torch.no_grad();
        var fx = MetricTensors.TargetScore(model.Forward(inputs), targets);
        var sums = torch.zeros(n, samples, dtype: ScalarType.Float64);
        var drops = torch.zeros(n, samples, dtype: ScalarType.Float64);
        var flatMaps = MetricTensors.Flat(maps);
        for (int s = 0; s < samples; s++)
        {
            var subset = torch.rand(inputs.shape, generator: g).lt(subsetFraction).to_type(inputs.dtype);
            sums[.., s] = (flatMaps * subset.flatten(1).to_type(ScalarType.Float64)).sum(1);
            drops[.., s] = fx - MetricTensors.TargetScore(model.Forward(inputs * (1 - subset) + baseline * subset), targets);
        }
        return MetricResult.From("faithfulness_correlation", MetricTensors.RowPearson(sums, drops));
    }
}

/// <summary>
/// Infidelity (Yeh et al., 2019): E_I[(Iᵀ map − (f(x) − f(x − I)))²] with Gaussian perturbations
/// I ~ N(0, σ²), per image. Lower is better; 0 for IG-like maps of linear models.
/// </summary>
public static class Infidelity
{
    public static MetricResult Evaluate(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps, int samples = 50, double sigma = 0.1, int seed = 0)
    {
        MetricTensors.ModelArguments(inputs, targets, maps);
        MetricTensors.AtLeast(samples, 1, nameof(samples));
        if (!(sigma > 0 && double.IsFinite(sigma))) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be positive and finite.");
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        var fx = MetricTensors.TargetScore(model.Forward(inputs), targets);
        var total = torch.zeros(inputs.shape[0], dtype: ScalarType.Float64);
        var flatMaps = MetricTensors.Flat(maps);
        for (int s = 0; s < samples; s++)
        {
            var i = torch.randn(inputs.shape, generator: g).to_type(inputs.dtype) * sigma;
            var predicted = (flatMaps * MetricTensors.Flat(i)).sum(1);
            var actual = fx - MetricTensors.TargetScore(model.Forward(inputs - i), targets);
            total += (predicted - actual).pow(2);
        }
        return MetricResult.From("infidelity", total / samples);
    }
}

/// <summary>
/// Region perturbation (Samek et al., 2017): patches of `patch`×`patch`
/// pixels, most relevant first (summed relevance), replaced one by one by uniform noise; AOPC =
/// mean over steps of f(x) − f(x after the first i patches), per image. Higher = more faithful.
/// </summary>
public static class RegionPerturbation
{
    public static MetricResult Evaluate(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps, int patch = 4, int steps = 20, int seed = 0)
    {
        MetricTensors.ModelArguments(inputs, targets, maps);
        if (inputs.dim() != 4) throw new ArgumentException($"region perturbation needs images [N, C, H, W]; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        long n = inputs.shape[0], h = inputs.shape[2], w = inputs.shape[3];
        if (patch < 1 || patch > Math.Min(h, w))
            throw new ArgumentOutOfRangeException(nameof(patch), patch, $"patch must be in [1, {Math.Min(h, w)}] (the images are {h}x{w}); got {patch}.");
        MetricTensors.AtLeast(steps, 1, nameof(steps));
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed);
        var relevance = nn.functional.avg_pool2d(maps.sum(1, keepdim: true).to_type(ScalarType.Float64), patch).flatten(1); // [N, P]
        long regions = relevance.shape[1];
        steps = (int)Math.Min(steps, regions);
        var order = (-relevance).argsort(1);
        var rank = torch.empty_like(order).scatter_(1, order, torch.arange(regions, dtype: ScalarType.Int64).expand(n, -1).contiguous());
        long cols = w / patch;
        using var noGrad = torch.no_grad();
        var f0 = MetricTensors.TargetScore(model.Forward(inputs), targets);
        var noise = torch.rand(inputs.shape, generator: g).to_type(inputs.dtype);
        var sum = torch.zeros(n, dtype: ScalarType.Float64);
        for (int s = 1; s <= steps; s++)
        {
            // Pixel mask of the s most relevant regions, upsampled from the region grid.
            var chosen = rank.lt(s).to_type(inputs.dtype).reshape(n, 1, h / patch, cols);
            var mask = nn.functional.interpolate(chosen, new long[] { h / patch * patch, cols * patch }, mode: InterpolationMode.Nearest);
            mask = nn.functional.pad(mask, new long[] { 0, w - cols * patch, 0, h - h / patch * patch });
            var perturbed = inputs * (1 - mask) + noise * mask;
            sum += f0 - MetricTensors.TargetScore(model.Forward(perturbed), targets);
        }
        return MetricResult.From("region_perturbation_aopc", sum / steps);
    }
}
