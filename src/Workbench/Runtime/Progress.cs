namespace Workbench.Runtime;

/// <summary>
/// Where long-running work reports progress. One abstraction for every front end: the CLI shows a
/// Spectre.Console bar, notebooks an updating display, tests nothing (<see cref="NullProgress"/>).
/// </summary>
public interface IProgressSink
{
    /// <summary>Starts a task of <paramref name="total"/> units (0 when unknown).</summary>
    IProgressTask Start(string description, long total);
}

/// <summary>One task's progress; dispose it when the task ends.</summary>
public interface IProgressTask : IDisposable
{
    /// <summary>Sets the completed units and an optional status line (e.g. "loss 0.123").</summary>
    void Report(long completed, string? status = null);
}

/// <summary>Context for progress lines.</summary>
public static class ProgressExtensions
{
    /// <summary>The same sink with every task named "<paramref name="context"/>: task" — e.g. which network
    /// ("mnist k=8 pair 0 net A") an "epoch 1/2" belongs to.</summary>
    public static IProgressSink Within(this IProgressSink sink, string context) =>
        string.IsNullOrWhiteSpace(context) || sink is NullProgress ? sink : new PrefixedProgress(sink, context);

    sealed class PrefixedProgress(IProgressSink inner, string context) : IProgressSink
    {
        public IProgressTask Start(string description, long total) => inner.Start($"{context}: {description}", total);
    }
}

/// <summary>Discards progress.</summary>
public sealed class NullProgress : IProgressSink, IProgressTask
{
    public static readonly NullProgress Instance = new();
    public IProgressTask Start(string description, long total) => this;
    public void Report(long completed, string? status = null) { }
    public void Dispose() { }
}

/// <summary>
/// Plain-text progress on a <see cref="TextWriter"/> (stderr by default): a line when a task starts,
/// at most one line every <see cref="Interval"/>, and one when it ends. For logs and CI.
/// </summary>
public sealed class TextProgress(TextWriter? writer = null) : IProgressSink
{
    readonly TextWriter _writer = writer ?? Console.Error;
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    public IProgressTask Start(string description, long total)
    {
        _writer.WriteLine($"{description}: started");
        return new Task(this, description, total);
    }

    sealed class Task(TextProgress owner, string description, long total) : ThrottledProgressTask(description, total, owner.Interval)
    {
        protected override void OnLine(string line) => owner._writer.WriteLine(line);
        protected override void OnDone(string line) => owner._writer.WriteLine(line);
    }
}

/// <summary>
/// A task that turns reports into at most one line per interval (<see cref="OnLine"/>) and a final line with
/// the elapsed time (<see cref="OnDone"/>): the throttling every progress front end shares.
/// </summary>
public abstract class ThrottledProgressTask(string description, long total, TimeSpan interval) : IProgressTask
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    TimeSpan _last = TimeSpan.Zero;
    long _completed;
    string? _status;

    /// <summary>The current line: description, progress and the last status.</summary>
    protected string Line() => ProgressLine.Format(description, _completed, total, _status);

    public void Report(long completed, string? status = null)
    {
        _completed = completed;
        _status = status ?? _status;
        if (_clock.Elapsed - _last < interval) return;
        _last = _clock.Elapsed;
        OnLine(Line());
    }

    public void Dispose() => OnDone($"{Line()} done in {_clock.Elapsed.TotalSeconds:F1} s");

    protected abstract void OnLine(string line);
    protected abstract void OnDone(string line);
}

/// <summary>The one progress line format every sink shows: "description: done/total (pct%) status".</summary>
public static class ProgressLine
{
    public static string Format(string description, long completed, long total, string? status) => total > 0
        ? $"{description}: {completed}/{total} ({100.0 * completed / total:F0}%) {status}".TrimEnd()
        : $"{description}: {completed} {status}".TrimEnd();
}
