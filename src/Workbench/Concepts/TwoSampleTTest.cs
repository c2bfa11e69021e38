namespace Workbench.Concepts;

/// <summary>A two-sided two-sample t-test's outcome: NaN statistic and p when both samples are constant and equal.</summary>
public sealed record TTestResult(double Statistic, double DegreesOfFreedom, double PValue);

/// <summary>
/// Student's two-sample t-test with pooled variance, two-sided — scipy.stats.ttest_ind's default,
/// which tensorflow/tcav and captum.concept use for TCAV's significance. The p-value is
/// I_{ν/(ν+t²)}(ν/2, 1/2), the regularized incomplete beta function (continued fraction, Lentz's method).
/// </summary>
public static class TwoSampleTTest
{
    public static TTestResult Run(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count < 2) throw new ArgumentException($"a must hold at least 2 values for a t-test; got {a.Count}.", nameof(a));
        if (b.Count < 2) throw new ArgumentException($"b must hold at least 2 values for a t-test; got {b.Count}.", nameof(b));
        double ma = a.Average(), mb = b.Average();
        double ssa = a.Sum(v => (v - ma) * (v - ma)), ssb = b.Sum(v => (v - mb) * (v - mb));
        double df = a.Count + b.Count - 2;
        double pooled = (ssa + ssb) / df;
        double se = Math.Sqrt(pooled * (1.0 / a.Count + 1.0 / b.Count));
        double t = (ma - mb) / se; // ±∞ when both are constant and differ, NaN when they are constant and equal
        if (double.IsNaN(t)) return new TTestResult(double.NaN, df, double.NaN);
        double p = double.IsInfinity(t) ? 0 : RegularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t));
        return new TTestResult(t, df, Math.Clamp(p, 0, 1));
    }

    /// <summary>I_x(a, b) for a, b &gt; 0 and x in [0, 1] (Numerical Recipes' betai: the continued fraction on the side where it converges fast).</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (!(a > 0)) throw new ArgumentOutOfRangeException(nameof(a), a, "a must be > 0.");
        if (!(b > 0)) throw new ArgumentOutOfRangeException(nameof(b), b, "b must be > 0.");
        if (!(x >= 0 && x <= 1)) throw new ArgumentOutOfRangeException(nameof(x), x, "x must be in [0, 1].");
        if (x == 0 || x == 1) return x;
        double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        return x < (a + 1) / (a + b + 2)
            ? front * ContinuedFraction(a, b, x) / a
            : 1 - front * ContinuedFraction(b, a, 1 - x) / b;
    }

    static double ContinuedFraction(double a, double b, double x)
    {
        const double tiny = 1e-300, eps = 1e-15;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 10_000; m++)
        {
            int m2 = 2 * m;
            double even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            h *= Step(even, ref c, ref d);
            double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            double delta = Step(odd, ref c, ref d);
            h *= delta;
            if (Math.Abs(delta - 1) < eps) return h;
        }
        return h;
    }

    /// <summary>One step of the modified Lentz recurrence: updates c and d, returns their product.</summary>
    static double Step(double coefficient, ref double c, ref double d)
    {
        const double tiny = 1e-300;
        d = 1 + coefficient * d;
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        c = 1 + coefficient / c;
        if (Math.Abs(c) < tiny) c = tiny;
        return c * d;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15).</summary>
    static double LogGamma(double x)
    {
        double[] g = { 0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7 };
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = g[0];
        for (int i = 1; i < g.Length; i++) sum += g[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
