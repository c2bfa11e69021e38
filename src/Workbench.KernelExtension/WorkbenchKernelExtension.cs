using Microsoft.DotNet.Interactive;
using Workbench.Interactive;
using Workbench.Runtime;

namespace Workbench.KernelExtension;

/// <summary>
/// Loaded by the .NET Interactive kernel when a notebook adds the Workbench package
/// (<c>#r "nuget: Workbench, ..."</c>), before any cell uses it: binds FSharp.Core requests to the kernel's
/// copy (Plotly charts), preloads TorchSharp's native libraries (patched where the host needs it),
/// registers the workbench's formatters and makes <see cref="Notebook.Progress"/> one display per task
/// that updates in place.
/// </summary>
public sealed class WorkbenchKernelExtension : IKernelExtension
{
    public Task OnLoadAsync(Kernel kernel)
    {
        FSharpCoreUnification.Install();
        TorchNativeLoader.Preload();
        Notebook.Init();
        Notebook.UseProgress(() => new KernelProgress());
        return Task.CompletedTask;
    }
}
