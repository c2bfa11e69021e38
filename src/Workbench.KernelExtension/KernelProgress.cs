using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;
using Workbench.Runtime;

namespace Workbench.KernelExtension;

/// <summary>
/// Progress in a notebook cell as one output that updates in place (<see cref="DisplayedValue.Update"/>):
/// a line for every finished task (an epoch's summary) and the running task's current line, instead of a
/// stream of printed lines. What the saved notebook keeps is the final state: one line per task.
/// </summary>
public sealed class KernelProgress : IProgressSink
{
    readonly List<string> _finished = new();
    readonly object _gate = new();
    DisplayedValue? _display;
    string? _current;

    /// <summary>Least time between two updates of the display (each is a message to the front end).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(500);

    public IProgressTask Start(string description, long total)
    {
        lock (_gate)
        {
            _current = ProgressLine.Format(description, 0, total, null);
            Show();
        }
        return new Task(this, description, total);
    }

    void Show()
    {
        var text = string.Join("\n", _current is null ? _finished : _finished.Append(_current));
        if (_display is null) _display = Kernel.display(text, "text/plain");
        else _display.Update(text);
    }

    sealed class Task(KernelProgress owner, string description, long total) : ThrottledProgressTask(description, total, owner.Interval)
    {
        protected override void OnLine(string line)
        {
            lock (owner._gate) { owner._current = line; owner.Show(); }
        }

        protected override void OnDone(string line)
        {
            lock (owner._gate) { owner._finished.Add(line); owner._current = null; owner.Show(); }
        }
    }
}
