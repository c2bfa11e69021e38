using Microsoft.Data.Analysis;

namespace Workbench.Experiments;

/// <summary>
/// One claim of an experiment: the measured number(s), the value the original work reports (if
/// any), and whether the data support it — computed by the experiment, never typed in.
/// </summary>
public sealed record Claim(string Statement, string Measured, string Reported, bool Holds);

/// <summary>The claims table every experiment notebook ends with (a DataFrame with a boolean "holds" column, which the runner reads).</summary>
public static class ClaimsTable
{
    public static DataFrame ToDataFrame(IEnumerable<Claim> claims)
    {
        var list = claims.ToList();
        return new DataFrame(
            new StringDataFrameColumn("claim", list.Select(c => c.Statement)),
            new StringDataFrameColumn("measured", list.Select(c => c.Measured)),
            new StringDataFrameColumn("reported", list.Select(c => c.Reported)),
            new BooleanDataFrameColumn("holds", list.Select(c => c.Holds)));
    }
}
