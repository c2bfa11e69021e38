namespace Workbench.Attribution;

/// <summary>How a path integral over α ∈ [0, 1] is approximated.</summary>
public enum IntegrationRule { RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid, GaussLegendre }

/// <summary>Points α_k and weights w_k with ∫₀¹ h(α) dα ≈ Σ w_k h(α_k).</summary>
public static class Quadrature
{
    public static (double[] Alphas, double[] Weights) Points(IntegrationRule rule, int steps)
    {
        Check(rule, steps);
        var a = new double[steps];
        var w = new double[steps];
        switch (rule)
        {
            case IntegrationRule.RiemannLeft:
                for (int k = 0; k < steps; k++) { a[k] = (double)k / steps; w[k] = 1.0 / steps; }
                break;
            case IntegrationRule.RiemannRight:
                for (int k = 0; k < steps; k++) { a[k] = (k + 1.0) / steps; w[k] = 1.0 / steps; }
                break;
            case IntegrationRule.RiemannMiddle:
                for (int k = 0; k < steps; k++) { a[k] = (k + 0.5) / steps; w[k] = 1.0 / steps; }
                break;
            case IntegrationRule.RiemannTrapezoid:
                for (int k = 0; k < steps; k++) { a[k] = (double)k / (steps - 1); w[k] = (k == 0 || k == steps - 1 ? 0.5 : 1.0) / (steps - 1); }
                break;
            case IntegrationRule.GaussLegendre:
                GaussLegendre(steps, a, w);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule, "unknown rule");
        }
        return (a, w);
    }

    /// <summary>
    /// The most Gauss–Legendre points computed: each node costs O(steps) (the Legendre recurrence), so
    /// all of them O(steps²) — about a second at this cap. Far fewer are ever needed: n points
    /// integrate polynomials of degree 2n − 1 exactly; for finer sums use a Riemann rule (O(steps)).
    /// </summary>
    public const int MaxGaussLegendreSteps = 20_000;

    static readonly System.Collections.Concurrent.ConcurrentDictionary<int, (double[] Alphas, double[] Weights)> GaussLegendreCache = new();

    /// <summary>Checks that <paramref name="rule"/> can give <paramref name="steps"/> points (fails fast, before any pass).</summary>
    public static void Check(IntegrationRule rule, int steps, string parameter = "steps")
    {
        if (steps < 1 || (rule == IntegrationRule.RiemannTrapezoid && steps < 2))
            throw new ArgumentOutOfRangeException(parameter, steps, $"steps must be >= {(rule == IntegrationRule.RiemannTrapezoid ? 2 : 1)} for {rule}.");
        if (rule == IntegrationRule.GaussLegendre && steps > MaxGaussLegendreSteps)
            throw new ArgumentOutOfRangeException(parameter, steps,
                $"GaussLegendre takes at most {MaxGaussLegendreSteps:N0} steps (its points cost O(steps²) to compute, and it is exact for polynomials of degree 2·steps − 1 long before); got {steps:N0}. For more points use a Riemann rule, e.g. IntegrationRule.RiemannMiddle.");
    }

    /// <summary>
    /// Gauss–Legendre nodes and weights on [0, 1] (cached per n): Newton's method on P_n from Tricomi's
    /// asymptotic guess, which converges in two or three iterations; half the nodes by symmetry.
    /// </summary>
    static void GaussLegendre(int n, double[] alphas, double[] weights)
    {
        var (a, w) = GaussLegendreCache.GetOrAdd(n, Compute);
        a.CopyTo(alphas, 0);
        w.CopyTo(weights, 0);

        static (double[], double[]) Compute(int n)
        {
            var alphas = new double[n];
            var weights = new double[n];
            for (int i = 0; i < (n + 1) / 2; i++)
            {
                // Tricomi: x_i ≈ (1 − 1/(8n²) + 1/(8n³)) cos(π(4i + 3)/(4n + 2)), the i-th largest root.
                double x = (1 - 1.0 / (8.0 * n * n) + 1.0 / (8.0 * n * n * n)) * Math.Cos(Math.PI * (4 * i + 3) / (4.0 * n + 2)), dp = 0, last = double.MaxValue;
                for (int iteration = 0; iteration < 20; iteration++)
                {
                    double p0 = 1, p1 = x;
                    for (int k = 2; k <= n; k++) (p0, p1) = (p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k);
                    dp = n * (x * p1 - (n == 1 ? 1 : p0)) / (x * x - 1);
                    double dx = p1 / dp;
                    x -= dx;
                    // Converged, or rounding noise: the step stopped shrinking (the cause of minutes-long runs at 10⁵ points).
                    if (Math.Abs(dx) < 1e-15 || Math.Abs(dx) >= last) break;
                    last = Math.Abs(dx);
                }
                double weight = 1.0 / ((1 - x * x) * dp * dp); // on [0, 1]: 2 / ((1 − x²) P'(x)²) halved
                // Map from [-1, 1] to [0, 1]; the mirror node −x has the same weight.
                alphas[n - 1 - i] = (x + 1) / 2;
                weights[n - 1 - i] = weight;
                alphas[i] = (1 - x) / 2;
                weights[i] = weight;
            }
            if (n % 2 == 1) alphas[n / 2] = 0.5; // the middle root is exactly 0
            return (alphas, weights);
        }
    }
}
