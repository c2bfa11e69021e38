using Plotly.NET;
using Workbench.Training;
using static Workbench.Visualization.PlotlyObjects;

namespace Workbench.Visualization;

/// <summary>Figures of training runs: curves with titled axes and whole-number epochs.</summary>
public static class TrainingFigures
{
    /// <summary>Accuracy (left panel) and cross-entropy (right panel) per epoch: training solid, test dashed.</summary>
    public static GenericChart Curves(TrainingHistory history, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Epochs.Count == 0) throw new ArgumentException("history has no epochs; train at least one epoch first.", nameof(history));
        var epochs = history.Epochs.Select(e => e.Epoch).ToArray();
        Trace Line(IEnumerable<double> y, string name, string colour, bool dashed, string axis) => TraceOf("scatter",
            ("x", epochs), ("y", y.ToArray()), ("name", name), ("mode", "lines+markers"),
            ("line", Obj(("color", colour), ("dash", dashed ? "dash" : "solid"))), ("xaxis", "x" + axis), ("yaxis", "y" + axis));
        var traces = new[]
        {
            Line(history.Epochs.Select(e => e.TrainAccuracy), "train accuracy", "#1f77b4", false, ""),
            Line(history.Epochs.Select(e => e.TestAccuracy), "test accuracy", "#1f77b4", true, ""),
            Line(history.Epochs.Select(e => e.TrainLoss), "train loss", "#d62728", false, "2"),
            Line(history.Epochs.Select(e => e.TestLoss), "test loss", "#d62728", true, "2"),
        };
        DynamicObj.DynamicObj EpochAxis(double from, double to, string anchor) =>
            Obj(("title", Obj(("text", "epoch"))), ("dtick", 1), ("tick0", 1), ("domain", new[] { from, to }), ("anchor", anchor));
        var layout = new Layout();
        layout.SetProperty("xaxis", EpochAxis(0, 0.44, "y"));
        layout.SetProperty("yaxis", Obj(("title", Obj(("text", "accuracy"))), ("anchor", "x")));
        layout.SetProperty("xaxis2", EpochAxis(0.56, 1, "y2"));
        layout.SetProperty("yaxis2", Obj(("title", Obj(("text", "cross-entropy"))), ("anchor", "x2")));
        layout.SetProperty("title", Obj(("text", title ?? "Training curves"), ("x", 0.02), ("xanchor", "left")));
        layout.SetProperty("width", 900);
        layout.SetProperty("height", 380);
        return GenericChart.ofTraceObjects(true, traces).WithLayoutObject(layout);
    }
}
