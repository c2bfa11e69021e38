using System.Reflection;
using System.Runtime.Loader;

namespace Workbench.Runtime;

/// <summary>
/// One FSharp.Core per process. Plotly.NET 6 is compiled against FSharp.Core 10.1; the .NET Interactive
/// kernel (1.0.712001) hosts the F# kernel and has FSharp.Core 10.0 loaded in the default load context,
/// so the 10.1 reference cannot bind there and chart creation fails ("Could not load FSharp.Core 10.1.0.0",
/// or Giraffe.ViewEngine bound to one copy and Plotly.NET to the other: MissingMethodException). This binds
/// a request for a newer FSharp.Core to the copy already loaded. FSharp.Core keeps binary compatibility
/// within a major version for what Plotly.NET calls; the kernel tests render every chart the notebooks draw.
/// Only fires when the default context cannot resolve FSharp.Core itself (never in the CLI or tests).
/// </summary>
public static class FSharpCoreUnification
{
    static int _installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        AssemblyLoadContext.Default.Resolving += (_, requested) =>
        {
            if (requested.Name != "FSharp.Core") return null;
            return AppDomain.CurrentDomain.GetAssemblies()
                .Where(a => a.GetName().Name == "FSharp.Core" && AssemblyLoadContext.GetLoadContext(a) == AssemblyLoadContext.Default)
                .OrderByDescending(a => a.GetName().Version)
                .FirstOrDefault(a => a.GetName().Version?.Major == requested.Version?.Major);
        };
    }
}
