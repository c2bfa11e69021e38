using System.Globalization;
using System.Reflection;

namespace Workbench.Cli;

/// <summary>A bad command line: printed as one line, exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>An option a command accepts. <see cref="ValueName"/> null means a flag without a value.</summary>
public sealed record CliOption(string Name, string Description, string? ValueName = null, string? Default = null);

/// <summary>
/// One `workbench` command. Commands are discovered by reflection, so each lives in its own file
/// under Commands/ and adding one touches nothing else. <see cref="Name"/> may have several words
/// ("data fetch").
/// </summary>
public abstract class CliCommand
{
    public abstract string Name { get; }
    public abstract string Summary { get; }
    public virtual IReadOnlyList<(string Name, string Description)> Positionals => [];
    /// <summary>True when the positionals may repeat (e.g. several notebook paths).</summary>
    public virtual bool VariadicPositionals => false;
    public virtual IReadOnlyList<CliOption> Options => [];
    public abstract int Execute(CliArgs args);

    public string Help()
    {
        var w = new StringWriter();
        w.WriteLine($"workbench {Name} — {Summary}");
        w.WriteLine();
        var pos = string.Concat(Positionals.Select(p => $" <{p.Name}>{(VariadicPositionals ? "..." : "")}"));
        w.WriteLine($"Usage: workbench {Name}{pos}{(Options.Count > 0 ? " [options]" : "")}");
        // One column width for every left-hand entry, so the descriptions line up.
        var left = Positionals.Select(p => $"<{p.Name}>").Concat(Options.Select(o => $"--{o.Name}{(o.ValueName is null ? "" : $" <{o.ValueName}>")}")).Append("--help").ToList();
        int width = left.Max(l => l.Length);
        foreach (var p in Positionals) w.WriteLine($"  {$"<{p.Name}>".PadRight(width)}  {p.Description}");
        w.WriteLine();
        w.WriteLine("Options:");
        foreach (var o in Options)
            w.WriteLine($"  {$"--{o.Name}{(o.ValueName is null ? "" : $" <{o.ValueName}>")}".PadRight(width)}  {o.Description}{(o.Default is null ? "" : $" (default: {o.Default})")}");
        w.WriteLine($"  {"--help".PadRight(width)}  Show this help.");
        return w.ToString();
    }
}

/// <summary>Parsed arguments of one command, with typed accessors that reject bad values.</summary>
public sealed class CliArgs
{
    readonly Dictionary<string, string?> _options;
    public IReadOnlyList<string> Positionals { get; }
    public string Command { get; }

    CliArgs(string command, Dictionary<string, string?> options, List<string> positionals)
    {
        Command = command; _options = options; Positionals = positionals;
    }

    public static CliArgs Parse(CliCommand command, IReadOnlyList<string> args)
    {
        var known = command.Options.ToDictionary(o => o.Name);
        var options = new Dictionary<string, string?>();
        var positionals = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var name = a[2..];
                string? inline = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
                if (!known.TryGetValue(name, out var opt))
                    throw new CliUsageException($"unknown option '--{name}' for 'workbench {command.Name}'");
                if (opt.ValueName is null)
                {
                    if (inline is not null) throw new CliUsageException($"option '--{name}' takes no value, got '{inline}'");
                    options[name] = null;
                }
                else
                {
                    var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new CliUsageException($"option '--{name}' needs a value <{opt.ValueName}>"));
                    // Repeatable options (e.g. --param A=1 --param B=2) accumulate, separated by a newline.
                    options[name] = options.TryGetValue(name, out var prev) && prev is not null ? prev + "\n" + value : value;
                }
            }
            else positionals.Add(a);
        }
        int max = command.VariadicPositionals ? int.MaxValue : command.Positionals.Count;
        if (positionals.Count > max)
            throw new CliUsageException($"unexpected argument '{positionals[max]}' for 'workbench {command.Name}'");
        return new CliArgs(command.Name, options, positionals);
    }

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;

    public IReadOnlyList<string> GetAll(string name) => Get(name)?.Split('\n') ?? [];

    public string Get(string name, string fallback) => Get(name) ?? fallback;

    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = Get(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw new CliUsageException($"--{name} expects an integer, got '{s}'");
        if (v < min || v > max)
            throw new CliUsageException($"--{name} expects a value in [{min}, {max}], got {v}");
        return v;
    }

    public double GetDouble(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = Get(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v))
            throw new CliUsageException($"--{name} expects a number, got '{s}'");
        if (v < min || v > max)
            throw new CliUsageException($"--{name} expects a value in [{min}, {max}], got {v}");
        return v;
    }

    /// <summary>Parses an option's value with a library parser; its ArgumentException becomes a usage error.</summary>
    public T Parse<T>(string name, string fallback, Func<string, T> parse)
    {
        var s = Get(name) ?? fallback;
        try { return parse(s); }
        catch (ArgumentException e) { throw new CliUsageException($"--{name}: {CliApp.UserMessage(e)}"); }
    }

    /// <summary>A value that must be one of <paramref name="allowed"/> (compared case-insensitively).</summary>
    public string GetChoice(string name, string fallback, params string[] allowed)
    {
        var s = Get(name) ?? fallback;
        return allowed.FirstOrDefault(a => string.Equals(a, s, StringComparison.OrdinalIgnoreCase))
            ?? throw new CliUsageException($"--{name} expects one of {string.Join(", ", allowed)}, got '{s}'");
    }
}

/// <summary>Finds the command a command line names and runs it.</summary>
public static class CliApp
{
    public static IReadOnlyList<CliCommand> Commands { get; } = typeof(CliApp).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(CliCommand)) && !t.IsAbstract)
        .Select(t => (CliCommand)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Name, StringComparer.Ordinal)
        .ToList();

    public static string Help()
    {
        var w = new StringWriter();
        w.WriteLine("workbench — a research workbench for neural-network interpretability");
        w.WriteLine();
        w.WriteLine("Usage: workbench <command> [options]   (workbench <command> --help for details)");
        w.WriteLine("       workbench --version");
        w.WriteLine();
        foreach (var c in Commands) w.WriteLine($"  {c.Name,-20} {c.Summary}");
        return w.ToString();
    }

    /// <summary>The workbench's version (the package version, with the commit it was built from when known).</summary>
    public static string Version()
    {
        var informational = typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var (version, commit) = informational.IndexOf('+') is var plus and >= 0 ? (informational[..plus], informational[(plus + 1)..]) : (informational, "");
        return $"workbench {version}{(commit.Length > 0 ? $" (commit {commit[..Math.Min(12, commit.Length)]})" : "")}";
    }

    static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The message a user reads: an ArgumentException's without .NET's " (Parameter 'x')" suffix.</summary>
    internal static string UserMessage(Exception e) => OneLine(e is ArgumentException { ParamName: { } name } a
        ? a.Message.Replace($" (Parameter '{name}')", "") : e.Message);

    /// <summary>Runs a command line; returns the exit code (0 ok, 1 failure, 2 usage error).</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        if (args.Length == 0 || args is ["--help"] or ["-h"] or ["help"])
        {
            stdout.Write(Help());
            return args.Length == 0 ? 2 : 0;
        }
        if (args is ["--version"] or ["-V"] or ["version"])
        {
            stdout.WriteLine(Version());
            return 0;
        }
        // Longest command name that prefixes the arguments ("bench train" before "bench").
        var match = Commands
            .Select(c => (Command: c, Words: c.Name.Split(' ')))
            .Where(c => c.Words.Length <= args.Length && c.Words.SequenceEqual(args.Take(c.Words.Length)))
            .OrderByDescending(c => c.Words.Length)
            .FirstOrDefault();
        if (match.Command is null)
        {
            var group = Commands.Where(c => c.Name.StartsWith(args[0] + " ", StringComparison.Ordinal)).ToList();
            if (group.Count > 0 && (args.Length == 1 || args[1] is "--help" or "-h"))
            {
                foreach (var c in group) stdout.WriteLine($"  workbench {c.Name,-20} {c.Summary}");
                return args.Length == 1 ? 2 : 0;
            }
            stderr.WriteLine($"workbench: error: unknown command '{string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')))}' (see 'workbench --help')");
            return 2;
        }
        var rest = args.Skip(match.Words.Length).ToList();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            stdout.Write(match.Command.Help());
            return 0;
        }
        try
        {
            return match.Command.Execute(CliArgs.Parse(match.Command, rest));
        }
        catch (Workbench.Sweeps.SweepInputException e)
        {
            // Bad input to a sweep (unknown experiment or parameter, edited manifest, shard out of range, foreign results): nothing was written.
            stderr.WriteLine($"workbench: error: {OneLine(e.Message)}");
            return 2;
        }
        catch (Workbench.Sweeps.SweepIncompleteException e)
        {
            stderr.WriteLine($"workbench: error: {OneLine(e.Message)}");
            return 1;
        }
        catch (CliUsageException e)
        {
            stderr.WriteLine($"workbench: error: {e.Message} (see 'workbench {match.Command.Name} --help')");
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or InvalidOperationException)
        {
            stderr.WriteLine($"workbench: error: {UserMessage(e)}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Ordinary file-system faults (read-only or unreadable cache, disk full, a folder in the way) are
            // the user's to fix, not crashes: one line naming the path. The library's own I/O errors already
            // say what to do; the runtime's ("Access to the path '...' is denied.") get the advice added.
            bool ours = e.TargetSite?.DeclaringType?.Assembly == typeof(Workbench.Runtime.AtomicFile).Assembly;
            stderr.WriteLine($"workbench: error: {OneLine(e.Message)}" + (ours ? "" :
                " Check that the folder exists and is writable and that the disk has space (caches: WORKBENCH_DATA, WORKBENCH_MODELS)."));
            return 1;
        }
    }
}
