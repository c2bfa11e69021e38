using Workbench.Experiments.Representations;
using Workbench.Representations;

namespace Workbench.Tests.Representations;

public class InformationPlaneExperimentTests
{
    static InformationPoint Point(TrackingObjective objective, long step, double ix, double iy) =>
        new(objective, step, "h4", 4, new InformationBound(ix, ix - 200, 200, "ok"), new InformationBound(iy, iy - 2.3, 2.3, "ok"), 0.1, null);

    static IReadOnlyList<InformationPoint> Series(TrackingObjective objective, double[] ix, double[] iy) =>
        ix.Select((x, i) => Point(objective, i * 100, x, iy[i])).ToList();

    [Fact]
    public void Compression_claims_follow_the_trajectories_in_both_directions()
    {
        var compressing = Series(TrackingObjective.Classification, new[] { 10.0, 30, 20 }, new[] { 0.5, 1.5, 2.0 })
            .Concat(Series(TrackingObjective.Autoencoding, new[] { 10.0, 30, 40 }, new[] { 0.5, 0.6, 0.7 })).ToList();
        Assert.All(InformationPlaneExperiment.Claims(compressing), c => Assert.True(c.Holds, c.Statement + ": " + c.Measured));

        // Still fitting at the end (no compression), I(x;h4) below H(y), and an autoencoder that loses information: all fail.
        var fitting = Series(TrackingObjective.Classification, new[] { 0.5, 1.0, 2.0 }, new[] { 0.5, 1.5, 2.0 })
            .Concat(Series(TrackingObjective.Autoencoding, new[] { 10.0, 40, 20 }, new[] { 0.5, 0.6, 0.7 })).ToList();
        Assert.All(InformationPlaneExperiment.Claims(fitting), c => Assert.False(c.Holds, c.Statement + ": " + c.Measured));
    }

    [Fact]
    public void A_diverged_decoder_leaves_a_status_and_no_number()
    {
        var points = new List<InformationPoint>(Series(TrackingObjective.Classification, new[] { 10.0, 30 }, new[] { 0.5, 1.5 }))
        {
            new(TrackingObjective.Classification, 200, "h4", 4, new InformationBound(null, null, 200, "bernoulli probe diverged: the loss is NaN"),
                new InformationBound(2.0, -0.3, 2.3, "ok"), 0.1, 0.9),
        };
        var table = InformationPlaneExperiment.Table(points);
        Assert.Null(table["I(x;h) [nats]"][2]);
        Assert.Contains("diverged", (string)table["status"][2]);
        var compression = InformationPlaneExperiment.Claims(points).First();
        Assert.False(compression.Holds);
        Assert.Contains("n/a", compression.Measured);
    }
}
