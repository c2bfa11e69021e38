namespace Workbench.Attribution;

/// <summary>How a path integral over α ∈ [0, 1] is approximated.</summary>
public enum IntegrationRule { RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid, GaussLegendre }

/// <summary>Points α_k and weights w_k with ∫₀¹ h(α) dα ≈ Σ w_k h(α_k).</summary>
public static class Quadrature
{
    public static (double[] Alphas, double[] Weights) Points(IntegrationRule rule, int steps)
    {
        if (steps < 1 || (rule == IntegrationRule.RiemannTrapezoid && steps < 2))
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be >= {(rule == IntegrationRule.RiemannTrapezoid ? 2 : 1)} for {rule}.");
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

    /// <summary>Gauss–Legendre nodes on [0, 1] by Newton's method on P_n (Golub–Welsch-free, exact to ~1e-15).</summary>
    static void GaussLegendre(int n, double[] alphas, double[] weights)
    {
        for (int i = 0; i < n; i++)
        {
            double x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)), dp = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                double p0 = 1, p1 = x;
                for (int k = 2; k <= n; k++) (p0, p1) = (p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k);
                if (n == 1) p1 = x;
                dp = n * (x * p1 - (n == 1 ? 1 : p0)) / (x * x - 1);
                double dx = p1 / dp;
                x -= dx;
                if (Math.Abs(dx) < 1e-15) break;
            }
            // Map from [-1, 1] to [0, 1].
            alphas[n - 1 - i] = (x + 1) / 2;
            weights[n - 1 - i] = 1.0 / ((1 - x * x) * dp * dp);
        }
    }
}
