using TorchSharp;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Experiments.AttributionAxioms;
using Workbench.Experiments.SanityChecks;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Experiments;

public class SanityChecksTests
{
    public SanityChecksTests() => TorchRuntime.EnsureLoaded();

    static nn.Module<Tensor, Tensor> TinyCnn(int seed)
    {
        torch.manual_seed(seed);
        var model = nn.Sequential(("conv", nn.Conv2d(1, 4, 3, padding: 1)), ("act2", nn.ReLU()), ("flatten", nn.Flatten()), ("fc", nn.Linear(4 * 8 * 8, 3)));
        model.eval();
        return model;
    }

    [Fact]
    public void Sobel_magnitude_is_zero_on_flat_regions_and_largest_on_the_edge()
    {
        using var image = torch.zeros(1, 1, 8, 8);
        image[.., .., .., TensorIndex.Slice(4, null)] = torch.tensor(1f);
        using var edges = SanityChecksExperiment.SobelMagnitude(image);
        Assert.Equal(0, edges[0, 0, 4, 1].item<float>(), 6);
        Assert.Equal(0, edges[0, 0, 4, 6].item<float>(), 6);
        Assert.Equal(4, edges[0, 0, 4, 3].item<float>(), 5); // |−1·0 −2·0 −1·0 + 1 + 2 + 1| at the step
        Assert.Equal(4, edges[0, 0, 4, 4].item<float>(), 5);
    }

    [Fact]
    public void Cascading_randomization_visits_every_layer_from_the_logits_restores_the_weights_and_starts_at_similarity_one()
    {
        using var model = TinyCnn(1);
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        using var g = new torch.Generator(2);
        using var images = torch.rand(new long[] { 4, 1, 8, 8 }, generator: g);
        using var targets = torch.tensor(new long[] { 0, 1, 2, 0 });
        var methods = AttributionTour.Select("Gradient", "GuidedBackprop");
        using var study = SanityChecksExperiment.Randomize(model, images, targets, methods, new MethodSetup("act2", 8, 8), cascading: true);
        Assert.Equal(new[] { "original", "fc", "conv" }, study.Stages);
        Assert.Equal(3, study.ExampleMaps["Gradient"].shape[0]);
        var t = study.Table;
        for (int i = 0; i < t.Rows.Count; i++)
            if ((int)t["stage"][i]! == 0 && (string)t["measure"][i] is "spearman_abs" or "spearman_signed") Assert.Equal(1.0, (double)t["similarity"][i]!, 6);
        Assert.All(model.parameters().Zip(before), p => Assert.True(p.First.allclose(p.Second, 0, 0)));
        // The gradient of a fully re-initialised network is a different map.
        double last = Enumerable.Range(0, (int)t.Rows.Count).Where(i => (string)t["method"][i] == "Gradient" && (int)t["stage"][i]! == 2 && (string)t["measure"][i] == "spearman_abs")
            .Select(i => (double)t["similarity"][i]!).Single();
        Assert.True(last < 0.9, $"gradient similarity after full randomization {last}");
    }

    [Fact]
    public void The_digit_canvas_pastes_each_image_inside_its_mask()
    {
        using var digits = new TensorDataset(torch.ones(3, 1, 4, 4), torch.tensor(new long[] { 0, 1, 2 }), "ones", 3);
        using var canvas = Generators.DigitCanvas(digits, 10, 0.2, seed: 4);
        Assert.Equal(new long[] { 3, 1, 10, 10 }, canvas.Data.Inputs.shape);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(16, canvas.Masks[i].sum().item<float>()));
        // Inside the box the digit (1) wins; outside, noise below 0.2.
        using var inside = canvas.Data.Inputs.masked_select(canvas.Masks.gt(0));
        using var outside = canvas.Data.Inputs.masked_select(canvas.Masks.eq(0));
        Assert.Equal(1, inside.min().item<float>());
        Assert.True(outside.max().item<float>() <= 0.2f);
        using var again = Generators.DigitCanvas(digits, 10, 0.2, seed: 4);
        Assert.True(again.Data.Inputs.allclose(canvas.Data.Inputs, 0, 0));
        Assert.Equal("canvasSize", Assert.Throws<ArgumentOutOfRangeException>(() => Generators.DigitCanvas(digits, 3, 0.2, 0)).ParamName);
    }

    [Fact]
    public void A_checkerboard_has_more_high_frequency_energy_than_a_smooth_blob()
    {
        using var grid = torch.arange(16).reshape(1, 1, 16, 1) + torch.arange(16).reshape(1, 1, 1, 16);
        using var checker = (grid % 2).to_type(ScalarType.Float32);
        using var coords = torch.linspace(-1, 1, 16);
        using var blob = torch.exp(-(coords.reshape(16, 1).pow(2) + coords.reshape(1, 16).pow(2)) * 2).reshape(1, 1, 16, 16);
        double sharp = AttributionAxiomsExperiment.HighFrequencyShare(checker), smooth = AttributionAxiomsExperiment.HighFrequencyShare(blob);
        Assert.True(sharp > 0.9, $"checkerboard {sharp}");
        Assert.True(smooth < 0.05, $"blob {smooth}");
    }
}

public class ExperimentRunTests
{
    public ExperimentRunTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void A_tiny_sanity_check_run_gives_every_table_and_four_computed_claims()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wb-e5-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = SanityChecksConfig.Quick with
            {
                TrainImages = 300, Epochs = 1, Images = 3, RandomLabelImages = 100, RandomLabelEpochs = 2, FaithfulnessImages = 3,
                Methods = new[] { "Gradient", "SmoothGrad", "GuidedBackprop", "GradCam" },
            };
            var r = SanityChecksExperiment.Run(config, new Workbench.Training.ModelCache(dir));
            Assert.Equal(4, r.Claims.Rows.Count);
            // 4 methods × 4 measures × (original + 4 layers of the small CNN).
            Assert.Equal(4 * 4 * 5, r.Cascading.Rows.Count);
            Assert.Equal(4 * 4 * 5, r.Independent.Rows.Count);
            Assert.Equal(4, r.DataRandomization.Rows.Count);
            Assert.All(Enumerable.Range(0, 4), i => Assert.InRange((double)r.DataRandomization["spearman_abs"][i]!, -1, 1));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_tiny_axioms_run_assembles_the_tables_the_scorecard_and_five_claims()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wb-e4-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = AttributionAxiomsConfig.Quick with
            {
                Datasets = new[] { DatasetName.Mnist }, TrainImages = 300, Epochs = 1, TourImages = 2, MeasureImages = 3, IgSteps = new[] { 2, 4 },
                IgRules = new[] { Workbench.Attribution.IntegrationRule.RiemannMiddle }, SurrogateSamples = 20, RiseMasks = 20, ShapleyPermutations = 1,
                CanvasTrainImages = 100, CanvasTestImages = 3, CanvasEpochs = 1,
            };
            var r = AttributionAxiomsExperiment.Run(config, new Workbench.Training.ModelCache(dir));
            int methods = AttributionTour.Methods.Count;
            Assert.Equal(5, r.Claims.Rows.Count);
            Assert.Equal(methods, r.Axioms.Rows.Count);
            Assert.Equal(methods, r.Scorecard.Rows.Count);
            Assert.Equal(Enumerable.Range(1, methods), Enumerable.Range(0, methods).Select(i => (int)r.Scorecard["overall_rank"][i]!).OrderBy(x => x));
            Assert.All(Enumerable.Range(0, methods), i => Assert.InRange((double)r.Localisation["relevance_mass"][i]!, 0, 1));
            Assert.Equal(2, r.IgCompleteness.Rows.Count);
            Assert.Single(r.Tours);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
