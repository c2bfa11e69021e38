using System.Globalization;
using System.Text.Json.Nodes;
using Plotly.NET;

namespace Workbench.Visualization;

/// <summary>
/// One figure per value of a parameter, shown one at a time under a Plotly slider (precomputed: every step's
/// traces are in the page and the slider toggles their visibility, so it works offline in the HTML reports
/// and in any notebook front end without a kernel round trip). Steps must share their layout (axes, subplots):
/// the first step's layout is used.
/// </summary>
public sealed record SliderFigure(string Parameter, IReadOnlyList<(string Label, GenericChart Chart)> Steps, string? Title = null)
{
    /// <summary>Builds a slider figure over <paramref name="values"/>, one chart per value.</summary>
    public static SliderFigure Over<T>(string parameter, IEnumerable<T> values, Func<T, GenericChart> chart, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(parameter);
        var steps = values.Select(v => (Convert.ToString(v, CultureInfo.InvariantCulture) ?? "", chart(v))).ToList();
        if (steps.Count == 0) throw new ArgumentException("values must hold at least one value; got none.", nameof(values));
        return new SliderFigure(parameter, steps, title);
    }

    /// <summary>The Plotly figure JSON: all traces, those of step 0 visible, and a slider whose steps restyle visibility.</summary>
    public string ToFigureJson()
    {
        if (Steps.Count == 0) throw new InvalidOperationException("a slider figure needs at least one step.");
        var data = new JsonArray();
        var owner = new List<int>();
        JsonObject? layout = null;
        for (int s = 0; s < Steps.Count; s++)
        {
            var figure = JsonNode.Parse(GenericChart.toFigureJson(Steps[s].Chart))!.AsObject();
            layout ??= figure["layout"]?.DeepClone().AsObject() ?? new JsonObject();
            foreach (var trace in figure["data"]!.AsArray())
            {
                var copy = trace!.DeepClone().AsObject();
                copy["visible"] = s == 0;
                data.Add(copy);
                owner.Add(s);
            }
        }
        var steps = new JsonArray();
        for (int s = 0; s < Steps.Count; s++)
        {
            var visible = new JsonArray(owner.Select(o => (JsonNode)JsonValue.Create(o == s)!).ToArray());
            steps.Add(new JsonObject
            {
                ["label"] = Steps[s].Label,
                ["method"] = "restyle",
                ["args"] = new JsonArray(new JsonObject { ["visible"] = visible }),
            });
        }
        layout!["sliders"] = new JsonArray(new JsonObject
        {
            ["active"] = 0,
            ["currentvalue"] = new JsonObject { ["prefix"] = Parameter + " = " },
            ["pad"] = new JsonObject { ["t"] = 40 },
            ["steps"] = steps,
        });
        if (Title is not null) layout["title"] = new JsonObject { ["text"] = Title };
        return new JsonObject { ["data"] = data, ["layout"] = layout }.ToJsonString();
    }
}
