using Spectre.Console;
using Workbench.Runtime;

namespace Workbench.Cli;

/// <summary>
/// Progress for CLI commands: Spectre.Console bars on stderr when it is a terminal, plain text lines
/// otherwise (logs, CI). Always stderr, so `--json` output on stdout stays clean.
/// </summary>
public static class CliProgress
{
    public static T Run<T>(Func<IProgressSink, T> work)
    {
        if (Console.IsErrorRedirected || Environment.GetEnvironmentVariable("WORKBENCH_PLAIN_PROGRESS") == "1")
            return work(new TextProgress(Console.Error));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => result = work(new Sink(ctx)));
        return result;
    }

    sealed class Sink(ProgressContext context) : IProgressSink
    {
        public IProgressTask Start(string description, long total)
        {
            var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
            if (total <= 0) task.IsIndeterminate = true;
            return new Task(task, description);
        }
    }

    sealed class Task(ProgressTask task, string description) : IProgressTask
    {
        public void Report(long completed, string? status = null)
        {
            task.Value = Math.Min(completed, task.MaxValue);
            if (status is not null) task.Description = Markup.Escape($"{description}  {status}");
        }

        public void Dispose()
        {
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
