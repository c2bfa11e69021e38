using Workbench.Runtime;

namespace Workbench.Cli.Commands;

/// <summary>`workbench info`: versions and the native-library status, for bug reports and provenance.</summary>
public sealed class InfoCommand : CliCommand
{
    public override string Name => "info";
    public override string Summary => "Show workbench, TorchSharp and libtorch versions and the device";

    public override int Execute(CliArgs args)
    {
        foreach (var (k, v) in TorchRuntime.Versions()) Console.WriteLine($"{k,-12} {v}");
        Console.WriteLine($"{"device",-12} {TorchRuntime.DefaultDevice}");
        Console.WriteLine($"{"omp wait",-12} {ThreadPolicy.Status}");
        return 0;
    }
}
