using Microsoft.Data.Analysis;
using Microsoft.DotNet.Interactive.Formatting;
using Plotly.NET;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Interactive;

/// <summary>
/// The notebook side of the library: <c>Notebook.Init()</c> (called by the first cell) registers HTML
/// formatters with Microsoft.DotNet.Interactive.Formatting for Plotly charts, DataFrames and image
/// tensors, and loads TorchSharp. It depends on the formatting package only, never on the kernel,
/// so the same call works in VS Code's Polyglot Notebooks and in the headless runner.
/// </summary>
public static class Notebook
{
    static bool _initialized;

    public static void Init()
    {
        FSharpCoreUnification.Install();
        TorchRuntime.EnsureLoaded();
        if (_initialized) return;
        _initialized = true;
        Formatter.Register<GenericChart>((chart, writer) => writer.Write(HtmlFormatters.Chart(chart)), HtmlFormatter.MimeType);
        Formatter.Register<Workbench.Visualization.SliderFigure>((figure, writer) => writer.Write(HtmlFormatters.Slider(figure)), HtmlFormatter.MimeType);
        Formatter.Register<DataFrame>((frame, writer) => writer.Write(HtmlFormatters.Table(frame)), HtmlFormatter.MimeType);
        Formatter.Register<Tensor>((t, writer) =>
            writer.Write(HtmlFormatters.LooksLikeImage(t) ? HtmlFormatters.Images(t) : $"<pre>{System.Net.WebUtility.HtmlEncode(Summary(t))}</pre>"), HtmlFormatter.MimeType);
        Formatter.Register<Tensor>((t, writer) => writer.Write(Summary(t)), PlainTextFormatter.MimeType);
    }

    /// <summary>Shape, type and device, plus the values when there are few (a notebook output must stay small).</summary>
    public static string Summary(Tensor t) =>
        $"Tensor [{string.Join(", ", t.shape)}] {t.dtype} ({t.device})" + (t.numel() <= 64 ? "\n" + t.ToString(TorchSharp.TensorStringStyle.Julia) : "");

    static Func<IProgressSink> _progress = () => new TextProgress(Console.Out) { Interval = TimeSpan.FromSeconds(2) };

    /// <summary>Progress for notebook cells. In the .NET Interactive kernel (the Workbench kernel extension is
    /// loaded) one display per cell that updates in place; elsewhere a line per update interval on standard output.</summary>
    public static IProgressSink Progress() => _progress();

    /// <summary>Replaces what <see cref="Progress"/> returns (the kernel extension installs its in-place display).</summary>
    public static void UseProgress(Func<IProgressSink> factory) => _progress = factory ?? throw new ArgumentNullException(nameof(factory));
}
