using Microsoft.Data.Analysis;
using TorchSharp;
using Workbench.Attribution;
using static TorchSharp.torch;

namespace Workbench.Experiments.AttributionAxioms;

/// <summary>One axiom measured for one method: the number, the tolerance it is judged by, and the verdict.</summary>
public sealed record AxiomMeasurement(string Method, string Axiom, double Measured, double Tolerance, bool Holds);

/// <summary>
/// The axioms of the essay (seed 002; Sundararajan et al., 2017, §2–3; Lundberg &amp; Lee, 2017, §3) measured on two-feature
/// ReLU networks with hand-set weights, where the right answer is known. Every probe reads an input [1, 1, 1, 2]
/// (x₁, x₂) against the black baseline (0, 0) and explains the single output.
/// <list type="bullet">
/// <item>Sensitivity(a): f = 1 − ReLU(1 − x₁) at x = (2, 0). Input and baseline differ in x₁ alone and f differs
/// (1 vs 0), so x₁ must get a non-zero attribution. The gradient there is 0.</item>
/// <item>Implementation invariance: f = ReLU(ReLU(x₁) − 1 − ReLU(x₂)) and g = ReLU(ReLU(x₁ − 1) − ReLU(x₂)) are
/// the same function (the IG paper's Fig. 7) at x = (3, 1); the largest difference of their maps.</item>
/// <item>Linearity: h = 2·ReLU(x₁ + 2x₂ − 0.5) − ReLU(2x₁ − x₂) as one network vs 2·φ(f₁) − φ(f₂), at x = (1, 0.5).</item>
/// <item>Symmetry preservation: f = ReLU(x₁ + x₂ − 1) + 0.5·ReLU(x₁ + x₂) at x = (1, 1): φ₁ = φ₂.</item>
/// <item>Missingness: f = ReLU(x₁ + x₂) at x = (1.5, 0): x₂ equals its baseline and must get 0.</item>
/// </list>
/// Tolerances are relative to the output difference (1–2 on every probe): 1e-3.
/// </summary>
public static class AxiomProbes
{
    public const double Tolerance = 1e-3;

    public static readonly IReadOnlyList<string> Axioms = new[] { "sensitivity(a)", "implementation invariance", "linearity", "symmetry", "missingness" };

    /// <summary>A stack of linear layers with ReLUs between them (and after the last with <paramref name="finalRelu"/>), weights given.</summary>
    public static nn.Module<Tensor, Tensor> Network(string name, bool finalRelu, params (float[,] Weight, float[] Bias)[] layers)
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)> { ("flatten", nn.Flatten()) };
        for (int i = 0; i < layers.Length; i++)
        {
            var (w, b) = layers[i];
            var linear = nn.Linear(w.GetLength(1), w.GetLength(0));
            using (torch.no_grad())
            {
                linear.weight!.copy_(torch.tensor(w));
                linear.bias!.copy_(torch.tensor(b));
            }
            modules.Add(($"fc{i + 1}", linear));
            if (i < layers.Length - 1 || finalRelu) modules.Add(($"relu{i + 1}", nn.ReLU()));
        }
        var net = nn.Sequential(modules);
        net.eval();
        return new Named(name, net);
    }

    /// <summary>A point (x₁, x₂) as the probes' input [1, 1, 1, 2].</summary>
    public static Tensor Point(float x1, float x2) => torch.tensor(new[] { x1, x2 }).reshape(1, 1, 1, 2);

    /// <summary>Every axiom for one method (an <see cref="TourMethod.ImagesOnly"/> method has none: it is not defined here).</summary>
    public static IReadOnlyList<AxiomMeasurement> Measure(TourMethod method, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.ImagesOnly) return Array.Empty<AxiomMeasurement>();
        var setup = new MethodSetup("", 1, 2, Patch: 1, Samples: 200, Seed: seed);
        float[] Explain(nn.Module<Tensor, Tensor> model, Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            using var a = method.Make(model, setup).Attribute(x, Target.Class(0));
            return a.Map.flatten().to_type(ScalarType.Float32).data<float>().ToArray();
        }
        var results = new List<AxiomMeasurement>();
        void Add(string axiom, double measured, bool holds) => results.Add(new AxiomMeasurement(method.Name, axiom, measured, Tolerance, holds));

        using (var f = Network("sensitivity", false, (new float[,] { { -1, 0 } }, new float[] { 1 }), (new float[,] { { -1 } }, new float[] { 1 })))
        using (var x = Point(2, 0))
        {
            double phi = Math.Abs(Explain(f, x)[0]);
            Add("sensitivity(a)", phi, phi > Tolerance);
        }
        using (var f = Network("f", true, (new float[,] { { 1, 0 }, { 0, 1 } }, new float[] { 0, 0 }), (new float[,] { { 1, -1 } }, new float[] { -1 })))
        using (var g = Network("g", true, (new float[,] { { 1, 0 }, { 0, 1 } }, new float[] { -1, 0 }), (new float[,] { { 1, -1 } }, new float[] { 0 })))
        using (var x = Point(3, 1))
        {
            var (pf, pg) = (Explain(f, x), Explain(g, x));
            double diff = pf.Zip(pg, (a, b) => Math.Abs(a - b)).Max();
            Add("implementation invariance", diff, diff <= Tolerance);
        }
        using (var f1 = Network("f1", true, (new float[,] { { 1, 2 } }, new float[] { -0.5f })))
        using (var f2 = Network("f2", true, (new float[,] { { 2, -1 } }, new float[] { 0 })))
        using (var h = Network("h", false, (new float[,] { { 1, 2 }, { 2, -1 } }, new float[] { -0.5f, 0 }), (new float[,] { { 2, -1 } }, new float[] { 0 })))
        using (var x = Point(1, 0.5f))
        {
            var (p1, p2, ph) = (Explain(f1, x), Explain(f2, x), Explain(h, x));
            double diff = Enumerable.Range(0, 2).Max(i => Math.Abs(ph[i] - (2 * p1[i] - p2[i])));
            Add("linearity", diff, diff <= Tolerance);
        }
        using (var f = Network("symmetric", false, (new float[,] { { 1, 1 }, { 1, 1 } }, new float[] { -1, 0 }), (new float[,] { { 1, 0.5f } }, new float[] { 0 })))
        using (var x = Point(1, 1))
        {
            var p = Explain(f, x);
            double diff = Math.Abs(p[0] - p[1]);
            Add("symmetry", diff, diff <= Tolerance);
        }
        using (var f = Network("missingness", true, (new float[,] { { 1, 1 } }, new float[] { 0 })))
        using (var x = Point(1.5f, 0))
        {
            double phi = Math.Abs(Explain(f, x)[1]);
            Add("missingness", phi, phi <= Tolerance);
        }
        return results;
    }

    /// <summary>Every axiom for every method, long format: method, axiom, measured, tolerance, kept.</summary>
    public static DataFrame Table(IEnumerable<TourMethod> methods, int seed = 0)
    {
        var rows = methods.SelectMany(m => Measure(m, seed)).ToList();
        return new DataFrame(
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new StringDataFrameColumn("axiom", rows.Select(r => r.Axiom)),
            new DoubleDataFrameColumn("measured", rows.Select(r => r.Measured)),
            new DoubleDataFrameColumn("tolerance", rows.Select(r => r.Tolerance)),
            new BooleanDataFrameColumn("kept", rows.Select(r => r.Holds)));
    }

    /// <summary>A module with a readable name around a sequential stack (attribution results and errors name the probe).</summary>
    sealed class Named : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> net;
        public Named(string name, nn.Module<Tensor, Tensor> inner) : base(name) { net = inner; RegisterComponents(); }
        public override Tensor forward(Tensor input) => net.call(input);
    }
}
