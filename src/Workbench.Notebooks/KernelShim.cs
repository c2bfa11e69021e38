using Microsoft.DotNet.Interactive.Formatting;

namespace Workbench.Notebooks.Shim;

/// <summary>What <c>display(x)</c> returns, as in the kernel: a handle whose <see cref="Update"/> replaces the shown value.</summary>
public sealed class DisplayedValue(CellOutputSink sink, int index)
{
    public void Update(object? value) => sink.Replace(index, value);
}

/// <summary>Collects what a cell displays.</summary>
public sealed class CellOutputSink
{
    readonly List<object?> _values = new();
    public IReadOnlyList<object?> Values => _values;

    public DisplayedValue Add(object? value)
    {
        _values.Add(value);
        return new DisplayedValue(this, _values.Count - 1);
    }

    public void Replace(int index, object? value) => _values[index] = value;
    public void Clear() => _values.Clear();
}

/// <summary>
/// The runner's stand-in for the .NET Interactive C# kernel's globals: <c>display(value)</c> with the
/// kernel's signature. Runner-only: the Workbench library never defines these, so notebooks behave
/// the same in the real kernel (which has its own) and here.
/// </summary>
public class KernelGlobals
{
    internal static CellOutputSink Current { get; set; } = new();

#pragma warning disable IDE1006 // the kernel's name
    public DisplayedValue display(object? value, params string[] mimeTypes) => Current.Add(value);
#pragma warning restore IDE1006
}

/// <summary><c>x.Display()</c>, as the kernel's extension method.</summary>
public static class DisplayExtensions
{
    public static DisplayedValue Display(this object? value, params string[] mimeTypes) => KernelGlobals.Current.Add(value);
}

/// <summary>Mime bundles for displayed values, through the formatters the notebook registered.</summary>
public static class MimeBundles
{
    public static IReadOnlyDictionary<string, string> For(object? value)
    {
        var bundle = new Dictionary<string, string>();
        if (value is null) { bundle["text/plain"] = "null"; return bundle; }
        if (value is string s) { bundle["text/plain"] = s; return bundle; }
        if (value.GetType().IsPrimitive || value is decimal) { bundle["text/plain"] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""; return bundle; }
        bundle["text/html"] = value.ToDisplayString(HtmlFormatter.MimeType);
        bundle["text/plain"] = value.ToDisplayString(PlainTextFormatter.MimeType);
        return bundle;
    }
}
