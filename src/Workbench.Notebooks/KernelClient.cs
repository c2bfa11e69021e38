using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Workbench.Notebooks;

/// <summary>One event the kernel sent about a submission: its type and its payload.</summary>
public sealed record KernelEvent(string Type, JsonObject Payload);

/// <summary>How a submission ended.</summary>
/// <param name="Succeeded">CommandSucceeded arrived.</param>
/// <param name="Message">CommandFailed's message, or why the submission ended otherwise (kernel exit, timeout).</param>
/// <param name="KernelLost">The kernel process is gone (exited, or killed after a timeout): nothing more can run in it.</param>
public sealed record SubmissionResult(bool Succeeded, string? Message, bool KernelLost);

/// <summary>
/// The released .NET Interactive kernel (the <c>Microsoft.dotnet-interactive</c> tool), started as VS Code's
/// Polyglot Notebooks starts it: <c>dotnet-interactive [vscode] stdio --working-dir &lt;notebook folder&gt;</c>,
/// driven over its stdio protocol (one JSON command envelope per line in, one event envelope per line out).
/// Everything a notebook run shows comes from the kernel's own events: the runner never evaluates code itself.
/// </summary>
public sealed class KernelClient : IDisposable
{
    /// <summary>The kernel version the workbench is tested with (environment/setup.sh installs it).</summary>
    public const string PinnedVersion = "1.0.712001";

    readonly Process _process;
    readonly Channel<JsonObject?> _events = Channel.CreateUnbounded<JsonObject?>();
    readonly Queue<string> _stderrTail = new();
    int _token;

    // Kernels of this process, stopped when it ends: a runner stopped by Ctrl-C or SIGTERM must not leave a kernel computing
    // on its own (the kernel does not exit when its standard input closes).
    static readonly HashSet<KernelClient> Live = new();
    static readonly PosixSignalRegistration[] Signals;

    // A static constructor (not a field initializer) so the handlers are registered before the first kernel starts.
    static KernelClient()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
        Signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(signal => PosixSignalRegistration.Create(signal, _ => StopAll())).ToArray(); // the default action (exit) follows
    }

    static void StopAll()
    {
        KernelClient[] live;
        lock (Live) live = Live.ToArray();
        foreach (var client in live) client.Kill();
    }

    KernelClient(Process process)
    {
        _process = process;
        lock (Live) Live.Add(this);
        _ = Task.Run(ReadEvents);
        _process.ErrorDataReceived += (_, e) =>
        {
            // libtorch's "NNPACK ... Unsupported hardware" warnings land here (native stderr): kept only as context for a crash.
            if (e.Data is null) return;
            lock (_stderrTail) { _stderrTail.Enqueue(e.Data); while (_stderrTail.Count > 40) _stderrTail.Dequeue(); }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>The kernel's last lines on standard error (for a report when it dies).</summary>
    public string StandardErrorTail { get { lock (_stderrTail) return string.Join("\n", _stderrTail); } }

    /// <summary>The dotnet-interactive executable: WORKBENCH_KERNEL, else on PATH, else ~/.dotnet/tools.</summary>
    public static string FindKernel()
    {
        var explicitPath = Environment.GetEnvironmentVariable("WORKBENCH_KERNEL");
        if (!string.IsNullOrEmpty(explicitPath)) return explicitPath;
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools"))
            .Select(d => Path.Combine(d, "dotnet-interactive"));
        return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException(
            "The .NET Interactive kernel (dotnet-interactive) is not installed. Install the version the workbench is tested with: " +
            $"`dotnet tool install -g Microsoft.dotnet-interactive --version {PinnedVersion}` (environment/setup.sh does it).");
    }

    /// <summary>Starts a kernel whose working directory is <paramref name="workingDirectory"/> and waits for KernelReady.</summary>
    public static KernelClient Start(string workingDirectory, TimeSpan? startTimeout = null)
    {
        var start = new ProcessStartInfo(FindKernel())
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in new[] { "[vscode]", "stdio", "--working-dir", workingDirectory }) start.ArgumentList.Add(a);
        start.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var client = new KernelClient(process);
        var deadline = DateTime.UtcNow + (startTimeout ?? TimeSpan.FromMinutes(2));
        while (true)
        {
            var envelope = client.Next(deadline);
            if (envelope is null)
            {
                var why = process.HasExited ? $"exited with code {process.ExitCode}" : "did not report KernelReady in time";
                var tail = client.StandardErrorTail;
                client.Dispose();
                throw new InvalidOperationException($"the .NET Interactive kernel {why}.{(tail.Length > 0 ? " Its last output:\n" + tail : "")}");
            }
            if (envelope["eventType"]?.GetValue<string>() == "KernelReady") return client;
        }
    }

    async Task ReadEvents()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith('{')) continue; // the tool's banner and any stray output
                JsonObject? envelope;
                try { envelope = JsonNode.Parse(line) as JsonObject; }
                catch (JsonException) { continue; }
                if (envelope is not null) await _events.Writer.WriteAsync(envelope);
            }
        }
        finally { _events.Writer.TryComplete(); }
    }

    JsonObject? Next(DateTime deadline)
    {
        var remaining = deadline - DateTime.UtcNow;
        if (remaining <= TimeSpan.Zero) return null;
        using var cancel = new CancellationTokenSource(remaining);
        try { return _events.Reader.ReadAsync(cancel.Token).AsTask().GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { return null; }
        catch (ChannelClosedException) { return null; }
    }

    /// <summary>
    /// Submits a cell's code as VS Code does (SubmitCode to the subkernel the cell names, e.g. csharp) and hands every event of it
    /// (and of the commands it spawns, e.g. a <c>#r "nuget:..."</c>) to <paramref name="onEvent"/> until it
    /// succeeds, fails, the kernel exits, or <paramref name="timeout"/> passes (then the kernel is killed).
    /// </summary>
    public SubmissionResult Submit(string code, string kernelName, TimeSpan timeout, Action<KernelEvent> onEvent)
    {
        if (_process.HasExited) return new SubmissionResult(false, $"the kernel process had already exited (code {_process.ExitCode})", true);
        string token = $"workbench-{++_token}";
        var command = new JsonObject
        {
            ["token"] = token,
            ["commandType"] = "SubmitCode",
            ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = kernelName },
        };
        _process.StandardInput.WriteLine(command.ToJsonString());
        _process.StandardInput.Flush();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var envelope = Next(deadline);
            if (envelope is null)
            {
                // No event and the stream still open: the deadline passed (the timer may fire a tick before the clock reads it).
                if (!_events.Reader.Completion.IsCompleted)
                {
                    Kill();
                    return new SubmissionResult(false, $"the cell ran longer than its timeout ({timeout.TotalSeconds:F0} s); the kernel was stopped", true);
                }
                _process.WaitForExit(5000);
                var code_ = _process.HasExited ? _process.ExitCode.ToString() : "unknown";
                var tail = StandardErrorTail;
                return new SubmissionResult(false, $"the kernel process exited (code {code_}) while running this cell" +
                    (tail.Length > 0 ? ". Its last output:\n" + tail : ""), true);
            }
            var type = envelope["eventType"]?.GetValue<string>();
            var eventToken = envelope["command"]?["token"]?.GetValue<string>();
            if (type is null || eventToken is null || !(eventToken == token || eventToken.StartsWith(token + ".", StringComparison.Ordinal))) continue;
            var payload = envelope["event"] as JsonObject ?? new JsonObject();
            if (eventToken == token && type == "CommandSucceeded") return new SubmissionResult(true, null, false);
            if (eventToken == token && type == "CommandFailed")
                return new SubmissionResult(false, payload["message"]?.GetValue<string>() ?? "the cell failed", false);
            onEvent(new KernelEvent(type, payload));
        }
    }

    void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        lock (Live) Live.Remove(this);
        try { _process.StandardInput.Close(); } catch (IOException) { }
        if (!_process.WaitForExit(3000)) Kill();
        _process.Dispose();
    }
}
