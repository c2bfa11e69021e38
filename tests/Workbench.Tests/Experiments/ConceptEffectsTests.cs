using TorchSharp;
using Workbench.Experiments.ConceptEffects;
using Workbench.Runtime;
using Workbench.Training;

namespace Workbench.Tests.Experiments;

public class ConceptEffectsTests
{
    public ConceptEffectsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Settings_read_the_seed_table_as_percent_red_per_class()
    {
        var s = new BarsSetting(60, 40);
        Assert.Equal("60/40", s.Label);
        Assert.Equal(0.6, s.PGreenGivenVertical, 12);
        Assert.Equal(0.4, s.PGreenGivenHorizontal, 12);
        // P(vert | green) = 0.6 / 1.0, P(vert | red) = 0.4 / 1.0.
        Assert.Equal(0.2, s.ColourLabelDependence, 12);
        Assert.Equal(new[] { "60/40", "99/01", "98/02", "99/50" }, BarsSettings.Seed.Select(x => x.Label));
        Assert.All(BarsSettings.Seed, x => Assert.True(BarsSettings.SeedTable.ContainsKey(x.Label)));
        Assert.Equal("RandomSets", Assert.Throws<ArgumentOutOfRangeException>(() => (ConceptEffectsConfig.Quick with { RandomSets = 1 }).Validate()).ParamName);
    }

    [Fact]
    public void A_tiny_run_gives_bounded_estimates_and_is_reproducible()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wb-e6-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = ConceptEffectsConfig.Quick with
            {
                Settings = new[] { new BarsSetting(99, 1) }, TrainImages = 400, TestImages = 120, Epochs = 1,
                TcavClassInputs = 20, ConceptExamples = 12, RandomSets = 2,
            };
            var first = ConceptEffectsExperiment.Run(config, cache: new ModelCache(dir));
            var r = Assert.Single(first.Settings);
            Assert.InRange(r.GtCace.Effect, -1, 1);
            Assert.InRange(r.ConExp.Effect, -1, 1);
            Assert.All(r.Tcav.ConceptScores.Concat(r.Tcav.RandomScores), s => Assert.InRange(s, 0, 1));
            Assert.Equal(2, r.Tcav.ConceptScores.Length);
            Assert.Equal(1, first.Table.Rows.Count);
            Assert.Equal(typeof(bool), first.Claims["holds"].DataType);
            // Same seed, same numbers (the model now comes from the cache).
            var again = Assert.Single(ConceptEffectsExperiment.Run(config, cache: new ModelCache(dir)).Settings);
            Assert.Equal(r.GtCace.Effect, again.GtCace.Effect, 6);
            Assert.Equal(r.ConExp.Effect, again.ConExp.Effect, 6);
            Assert.Equal(r.Tcav.ConceptScores, again.Tcav.ConceptScores);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}

public class ColoredMnistExperimentTests
{
    public ColoredMnistExperimentTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Seed_table_covers_the_sweep_and_bad_configs_are_named()
    {
        Assert.All(ColoredMnistSettings.SeedSigmas, s => Assert.NotNull(ColoredMnistSettings.Seed(s)));
        Assert.Null(ColoredMnistSettings.Seed(0.3));
        Assert.Equal(0.094, ColoredMnistSettings.Seed(0.02)!.AvgGtCace);
        Assert.Equal("TcavColours", Assert.Throws<ArgumentOutOfRangeException>(() => (ColoredMnistConfig.Quick with { TcavColours = 11 }).Validate()).ParamName);
        Assert.Equal("Sigmas", Assert.Throws<ArgumentOutOfRangeException>(() => (ColoredMnistConfig.Quick with { Sigmas = new[] { -0.1 } }).Validate()).ParamName);
        Assert.Equal("RandomSets", Assert.Throws<ArgumentOutOfRangeException>(() => (ColoredMnistConfig.Quick with { RandomSets = 1 }).Validate()).ParamName);
    }

    [Fact]
    public void Counterfactual_figures_show_every_colour_and_refuse_a_bad_colour()
    {
        using var digits = new Workbench.Data.TensorDataset(TorchSharp.torch.rand(3, 1, 28, 28), TorchSharp.torch.arange(3, dtype: TorchSharp.torch.ScalarType.Int64), "d", 10);
        using var set = Workbench.Data.Synthetic.ColoredMnist.Generate(digits, 0.02, 1);
        Assert.NotNull(ColoredMnistFigures.Counterfactuals(set));
        using var conditions = set.Conditions();
        var (vae, _) = Workbench.Concepts.ConditionalVae.Fit(set.Data.Inputs, conditions, new Workbench.Concepts.CvaeOptions { Epochs = 1, Hidden = 8 });
        using (vae) Assert.NotNull(ColoredMnistFigures.VaeCounterfactuals(vae, set, new[] { 0, 9 }));
        Assert.Equal("colour", Assert.Throws<ArgumentOutOfRangeException>(() => ColoredMnistFigures.Counterfactuals(set, new[] { 10 })).ParamName);
    }

    [Fact]
    public void A_tiny_sweep_gives_bounded_estimates_reuses_measured_sigmas_and_is_reproducible()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wb-e6cm-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = ColoredMnistConfig.Quick with
            {
                Sigmas = new[] { 0.02, 0.05 }, TrainImages = 300, TestImages = 100, TcavColours = 2, TcavClassInputs = 5,
                ConceptExamples = 10, RandomSets = 2, Cvae = new Workbench.Concepts.CvaeOptions { Epochs = 1, Hidden = 16 }, CvaeImages = 300,
            };
            var first = ColoredMnistExperiment.Run(config, cache: new ModelCache(dir));
            Assert.Equal(2, first.Sigmas.Count);
            foreach (var r in first.Sigmas)
            {
                foreach (var e in new[] { r.GtCace, r.DecCace, r.EncDecCace }) { Assert.InRange(e.Average, -1, 1); Assert.Equal(90, e.Pairs); }
                Assert.InRange(r.ConExp.Average, -1, 1);
                Assert.Equal(2, r.Tcav.Count);
                Assert.InRange(r.TcavScore, 0, 1);
            }
            Assert.True(first.Sigmas[0].ColourLabelAgreement > first.Sigmas[1].ColourLabelAgreement);
            Assert.Equal(2, first.Table.Rows.Count);
            Assert.Equal(0.094, (double)first.Table["seed Avg-GT-CaCE"][0]!);
            Assert.Equal(5, first.Claims.Count());
            // A σ already measured joins as it is; the other is measured again, with the same numbers (same seed, cached models).
            var again = ColoredMnistExperiment.Run(config, cache: new ModelCache(dir), computed: new[] { first.Sigmas[0] });
            Assert.Same(first.Sigmas[0], again.Sigmas[0]);
            Assert.Equal(first.Sigmas[1].GtCace.Average, again.Sigmas[1].GtCace.Average, 6);
            Assert.Equal(first.Sigmas[1].ConExp.Average, again.Sigmas[1].ConExp.Average, 6);
            Assert.Equal(first.Sigmas[1].EncDecCace.Average, again.Sigmas[1].EncDecCace.Average, 6);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
