namespace Workbench.Sweeps;

/// <summary>
/// Splits units into shards balanced by estimated cost (longest first, each to the least-loaded shard; ties by unit index and
/// shard index), so the result depends only on the units and the shard count — every array task computes the same split.
/// Within a shard, units keep manifest order.
/// </summary>
public static class ShardAssignment
{
    public static IReadOnlyList<IReadOnlyList<SweepUnit>> Assign(IReadOnlyList<SweepUnit> units, int shardCount)
    {
        if (shardCount < 1) throw new SweepInputException($"the shard count must be >= 1, got {shardCount}");
        var shards = Enumerable.Range(0, shardCount).Select(_ => new List<SweepUnit>()).ToList();
        var load = new double[shardCount];
        foreach (var u in units.OrderByDescending(u => u.EstimatedSeconds).ThenBy(u => u.Index))
        {
            int best = 0;
            for (int s = 1; s < shardCount; s++) if (load[s] < load[best]) best = s;
            shards[best].Add(u);
            load[best] += u.EstimatedSeconds;
        }
        return shards.Select(s => (IReadOnlyList<SweepUnit>)s.OrderBy(u => u.Index).ToList()).ToList();
    }
}
