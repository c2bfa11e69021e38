using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Boundaries;

/// <summary>
/// A linear subspace S of the input space given by an orthonormal basis (rows of <see cref="Basis"/>, [k, D]),
/// the search space of subspace-constrained DeepFool ("Hold me tight!", Ortiz-Jiménez et al., 2020,
/// Definition 1: δ_S(x) = argmin_{δ ∈ S} ‖δ‖₂ s.t. F(x + δ) ≠ F(x)). The projection onto S is Bᵀ B,
/// which is only a projection when the rows are orthonormal, so the constructor checks that.
/// </summary>
public sealed class Subspace : IDisposable
{
    /// <summary>The largest |B Bᵀ − I| entry accepted as orthonormal (float32 DCT bases reach ~1e-6).</summary>
    public const double DefaultTolerance = 1e-4;

    /// <summary>Orthonormal rows [k, D], float32.</summary>
    public Tensor Basis { get; }
    public string Name { get; }
    public long Dimension => Basis.shape[0];
    public long AmbientDimension => Basis.shape[1];

    /// <param name="basis">[k, D] with orthonormal rows (k ≥ 1); copied.</param>
    public Subspace(Tensor basis, string name = "S", double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(basis);
        if (basis.dim() != 2)
            throw new ArgumentException($"basis must be [k, D] (one basis vector per row); got [{string.Join(", ", basis.shape)}].", nameof(basis));
        if (basis.shape[0] == 0)
            throw new ArgumentException($"basis must hold at least one vector; got an empty basis [0, {basis.shape[1]}].", nameof(basis));
        if (basis.shape[0] > basis.shape[1])
            throw new ArgumentException($"basis must have at most D = {basis.shape[1]} rows to be orthonormal; got {basis.shape[0]}.", nameof(basis));
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var b = basis.detach().to_type(ScalarType.Float64);
            var gram = b.matmul(b.t()) - torch.eye(b.shape[0], dtype: ScalarType.Float64, device: b.device);
            double deviation = gram.abs().max().item<double>();
            if (!(deviation <= tolerance))
                throw new ArgumentException($"basis must have orthonormal rows (max |B Bᵀ − I| ≤ {tolerance:G3}); got max |B Bᵀ − I| = {deviation:G4}.", nameof(basis));
        }
        // Detached from any caller's dispose scope: the subspace owns its basis until Dispose.
        Basis = basis.detach().to_type(ScalarType.Float32).clone().DetachFromDisposeScope();
        Name = name;
    }

    /// <summary>The whole input space R^D (identity basis): plain DeepFool.</summary>
    public static Subspace Full(long dimension) => new(torch.eye(dimension), "full");

    /// <summary>A random k-dimensional subspace (QR of a Gaussian matrix, seeded).</summary>
    public static Subspace Random(long dimension, long k, int seed, string name = "random")
    {
        if (k < 1 || k > dimension) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {dimension}].");
        using var g = new torch.Generator((ulong)seed);
        using var gaussian = torch.randn(new[] { dimension, k }, dtype: ScalarType.Float64, generator: g);
        var (q, r) = torch.linalg.qr(gaussian);
        using (q) using (r) using (var rows = q.t()) return new Subspace(rows, name);
    }

    /// <summary>A random k-dimensional subspace of the orthogonal complement of <paramref name="exclude"/> (unit vectors as rows, [m, D]).</summary>
    public static Subspace RandomOrthogonalTo(Tensor exclude, long k, int seed, string name = "random ⟂")
    {
        using var scope = torch.NewDisposeScope();
        var e = exclude.reshape(-1, exclude.shape[^1]).to_type(ScalarType.Float64);
        long d = e.shape[1];
        using var g = new torch.Generator((ulong)seed);
        var gaussian = torch.randn(new[] { d, k }, dtype: ScalarType.Float64, generator: g);
        var (qe, _) = torch.linalg.qr(e.t()); // orthonormal basis of span(exclude)
        gaussian = gaussian - qe.matmul(qe.t().matmul(gaussian));
        var (q, _) = torch.linalg.qr(gaussian);
        return new Subspace(q.t(), name);
    }

    /// <summary>The orthogonal complement of span(<paramref name="vectors"/>) ([m, D] rows) in R^D: D − rank rows.</summary>
    public static Subspace ComplementOf(Tensor vectors, string name = "complement")
    {
        using var scope = torch.NewDisposeScope();
        var v = vectors.reshape(-1, vectors.shape[^1]).to_type(ScalarType.Float64);
        // The complete QR of Vᵀ: its last D − m columns span the complement.
        var (q, _) = torch.linalg.qr(v.t(), torch.linalg.QRMode.Complete);
        return new Subspace(q[.., (int)v.shape[0]..].t(), name);
    }

    /// <summary>Projects vectors [n, D] (or [n, m, D]) onto the subspace: (v Bᵀ) B.</summary>
    public Tensor Project(Tensor vectors)
    {
        var b = Basis.to(vectors.device).to_type(vectors.dtype);
        return vectors.matmul(b.t()).matmul(b);
    }

    public void Dispose() => Basis.Dispose();
}
