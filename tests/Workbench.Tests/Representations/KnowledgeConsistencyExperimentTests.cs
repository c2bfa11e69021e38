using Workbench.Experiments.Representations;
using Workbench.Representations;

namespace Workbench.Tests.Representations;

public class KnowledgeConsistencyExperimentTests
{
    static ConsistencyRow Row(string condition, string layer, int depth, double[] orders, double residual, double refinedAccuracy = 0.9, double rawAccuracy = 0.9) =>
        new("mnist", "cnn", condition, layer, depth,
            new ConsistencyMeasurement(layer, orders, residual, orders.Sum() + residual, KnowledgeConsistency.InstabilityOf(orders, residual), 0.1, "ok"),
            0.95, 0.95, new[] { new RefinementRow("network A (raw)", rawAccuracy, "ok"), new RefinementRow("x⁽⁰⁾", refinedAccuracy, "ok") });

    [Fact]
    public void Claims_follow_the_numbers_in_both_directions()
    {
        var config = KnowledgeConsistencyConfig.Quick;
        var growing = new[]
        {
            Row("data k=2", "pool1", 0, new[] { 1.0, 0.1, 0.01 }, 0.1), Row("data k=2", "act3", 1, new[] { 1.0, 0.1, 0.01 }, 0.5),
            Row("data k=8", "pool1", 0, new[] { 1.0, 0.1, 0.01 }, 0.2), Row("data k=8", "act3", 1, new[] { 1.0, 0.1, 0.01 }, 0.8),
        };
        var claims = KnowledgeConsistencyExperiment.Claims(growing, config).ToList();
        Assert.All(claims, c => Assert.True(c.Holds, c.Statement + ": " + c.Measured));

        // Shrinking with depth, less data more consistent, x⁽¹⁾ larger than x⁽⁰⁾, refinement worse than raw: every claim fails.
        var shrinking = new[]
        {
            Row("data k=2", "pool1", 0, new[] { 0.1, 1.0, 0.01 }, 0.9, 0.8), Row("data k=2", "act3", 1, new[] { 0.1, 1.0, 0.01 }, 0.5, 0.8),
            Row("data k=8", "pool1", 0, new[] { 0.1, 1.0, 0.01 }, 0.3, 0.8), Row("data k=8", "act3", 1, new[] { 0.1, 1.0, 0.01 }, 0.1, 0.8),
        };
        Assert.All(KnowledgeConsistencyExperiment.Claims(shrinking, config), c => Assert.False(c.Holds, c.Statement + ": " + c.Measured));
    }

    [Fact]
    public void A_diverged_layer_is_a_status_and_null_numbers_in_the_tables_and_fails_the_claim()
    {
        var config = KnowledgeConsistencyConfig.Quick;
        var rows = new List<ConsistencyRow>
        {
            Row("initialisation", "pool1", 0, new[] { 1.0, 0.1, 0.01 }, 0.1),
            new("mnist", "cnn", "initialisation", "act3", 1, new ConsistencyMeasurement("act3", null, null, null, null, null, "knowledge consistency g diverged: the loss is NaN"),
                0.95, 0.95, Array.Empty<RefinementRow>()),
        };
        var table = KnowledgeConsistencyExperiment.Table2(rows);
        Assert.Null(table["instability"][1]);
        Assert.Contains("diverged", (string)table["status"][1]);
        Assert.All(table.Columns.OfType<Microsoft.Data.Analysis.DoubleDataFrameColumn>(), c => Assert.DoesNotContain(c, v => v is double d && double.IsNaN(d)));
        var low = KnowledgeConsistencyExperiment.Claims(rows, config).First();
        Assert.False(low.Holds);
        Assert.Contains("not measured", low.Measured);
    }
}
