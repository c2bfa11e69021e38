using Workbench.Runtime;

namespace Workbench.Data;

/// <summary>
/// The datasets a run needs, each loaded once on first use and kept until the run ends (disposed with this object),
/// so that the independent units of an experiment run in one process do not reload them unit by unit.
/// </summary>
public sealed class LoadedDatasets(IProgressSink? progress = null, string? cacheDirectory = null) : IDisposable
{
    readonly Dictionary<DatasetName, DatasetSplit> _loaded = new();

    /// <summary>The train and test split of <paramref name="name"/>; owned by this object (do not dispose it).</summary>
    public DatasetSplit Get(DatasetName name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_loaded.TryGetValue(name, out var split))
            _loaded[name] = split = Datasets.Load(name, cacheDirectory, progress);
        return split;
    }

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var split in _loaded.Values) split.Dispose();
        _loaded.Clear();
    }
}
