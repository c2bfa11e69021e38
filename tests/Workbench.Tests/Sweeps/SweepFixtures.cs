using Microsoft.Data.Analysis;
using Plotly.NET;
using Workbench.Runtime;
using Workbench.Sweeps;
using Workbench.Training;

namespace Workbench.Tests.Sweeps;

/// <summary>Tiny configs of E1 and E3 (seconds, not minutes), temp folders, and exact comparison of results.</summary>
public static class SweepFixtures
{
    /// <summary>E1 on MNIST: k ∈ {2, 4}, one pair, 10 steps per network, 8 test images, the gap and both variants at k = 4.</summary>
    public static readonly IReadOnlyDictionary<string, string> E1 = new Dictionary<string, string>
    {
        ["Datasets"] = "mnist", ["SplitFactors"] = "2,4", ["VariantSplitFactor"] = "4", ["StepsPerNetwork"] = "10", ["TestImages"] = "8",
        ["SmoothGradSamples"] = "2", ["IgSteps"] = "3", ["PretrainImages"] = "200",
    };

    /// <summary>E3 on Fashion-MNIST: 256 training images, one epoch, the judge one epoch on 256 images, 8 samples of 5 ascent steps, 16 evaluation images.</summary>
    public static readonly IReadOnlyDictionary<string, string> E3 = new Dictionary<string, string>
    {
        ["TrainImages"] = "256", ["Training.Epochs"] = "1", ["JudgeTrainImages"] = "256", ["JudgeTraining.Epochs"] = "1", ["GanTestSamples"] = "8", ["Sampler.Steps"] = "5", ["EvaluationImages"] = "16",
    };

    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"wb-sweep-{name}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static SweepDirectory Plan(string experiment, IReadOnlyDictionary<string, string> parameters, string dir, int shards = 1) =>
        SweepDirectory.Create(dir, SweepManifest.Plan(SweepExperiments.Find(experiment), false, parameters, [0], threads: 1, shards: shards));

    /// <summary>Every table equal cell by cell (doubles bitwise) and every figure's JSON equal.</summary>
    public static void AssertSame(SweepOutcome expected, SweepOutcome actual)
    {
        Assert.Equal(expected.Sections.Count, actual.Sections.Count);
        for (int i = 0; i < expected.Sections.Count; i++)
        {
            var (e, a) = (expected.Sections[i], actual.Sections[i]);
            Assert.Equal(e.Title, a.Title);
            if (e.Table is not null) AssertSame(e.Table, a.Table!, e.Title);
            else Assert.True(GenericChart.toFigureJson(e.Chart!) == GenericChart.toFigureJson(a.Chart!), $"figure '{e.Title}' differs");
        }
        AssertSame(expected.Claims, actual.Claims, "claims");
    }

    public static void AssertSame(DataFrame expected, DataFrame actual, string what)
    {
        Assert.Equal(expected.Columns.Select(c => c.Name), actual.Columns.Select(c => c.Name));
        Assert.Equal(expected.Rows.Count, actual.Rows.Count);
        for (int r = 0; r < expected.Rows.Count; r++)
            for (int c = 0; c < expected.Columns.Count; c++)
            {
                object? x = expected.Columns[c][r], y = actual.Columns[c][r];
                bool same = x is double dx && y is double dy ? BitConverter.DoubleToInt64Bits(dx) == BitConverter.DoubleToInt64Bits(dy) : Equals(x, y);
                Assert.True(same, $"{what}: row {r}, column '{expected.Columns[c].Name}': {x} vs {y}");
            }
    }

    /// <summary>The single-process result of the same config as the sweep's seed 0, with the same thread count, as an outcome.</summary>
    public static SweepOutcome InProcess(SweepDirectory sweep, ModelCache cache)
    {
        TorchRuntime.SetThreads(sweep.Manifest.Threads);
        var experiment = sweep.Experiment;
        var config = sweep.Manifest.ConfigFor(experiment, 0);
        // The experiment's own Run (not the sweep code path), turned into the same sections.
        object result = config switch
        {
            Workbench.Experiments.InterpretationGeneralization.InterpretationGeneralizationConfig c => Workbench.Experiments.InterpretationGeneralization.InterpretationGeneralizationExperiment.Run(c, cache: cache),
            Workbench.Experiments.ScoreMatching.ScoreMatchingConfig c => Workbench.Experiments.ScoreMatching.ScoreMatchingExperiment.Run(c, cache: cache),
            _ => throw new ArgumentException($"no in-process run for {config.GetType().Name}"),
        };
        return experiment.Describe(result);
    }
}
