namespace Workbench.Sweeps;

/// <summary>
/// Bad input to a sweep (an unknown experiment or parameter, an edited manifest, a shard index out of range, results of
/// another manifest): the message is one line saying what was expected and what was found; nothing was written.
/// The command line reports it with exit code 2.
/// </summary>
public sealed class SweepInputException(string message) : Exception(message);

/// <summary>A merge that found units not done (or done for another manifest): <see cref="Missing"/> names them.</summary>
public sealed class SweepIncompleteException(string message, IReadOnlyList<SweepUnit> missing, IReadOnlyList<int> shardsToRerun) : Exception(message)
{
    public IReadOnlyList<SweepUnit> Missing { get; } = missing;
    /// <summary>The shard indices (of the planned shard count) that hold missing units: what to resubmit.</summary>
    public IReadOnlyList<int> ShardsToRerun { get; } = shardsToRerun;
}
