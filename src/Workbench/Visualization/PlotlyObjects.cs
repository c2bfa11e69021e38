using Plotly.NET;

namespace Workbench.Visualization;

/// <summary>
/// Plotly objects set property by property (Plotly.NET's DynamicObj), for figures whose layout the typed C# API
/// cannot express (per-panel axes, shared colour ranges, annotations).
/// </summary>
static class PlotlyObjects
{
    public static DynamicObj.DynamicObj Obj(params (string Name, object Value)[] properties)
    {
        var o = new DynamicObj.DynamicObj();
        foreach (var (name, value) in properties) o.SetProperty(name, value);
        return o;
    }

    public static Trace TraceOf(string type, params (string Name, object Value)[] properties)
    {
        var trace = new Trace(type);
        foreach (var (name, value) in properties) trace.SetProperty(name, value);
        return trace;
    }

    public static GenericChart WithLayoutObject(this GenericChart chart, Layout layout) => Plotly.NET.Chart.withLayout(layout).Invoke(chart);
}
