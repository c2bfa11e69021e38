using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Data.Transforms;

/// <summary>
/// The orthonormal 2-D DCT-II on the last two dimensions of images (Y = C X Cᵀ, X = Cᵀ Y C), the
/// frequency basis of "Hold me tight!" (Ortiz-Jiménez et al., 2020; seed 003): subspaces of DCT
/// blocks and "flipped" images whose low and high frequencies swap.
/// </summary>
public static class Dct2D
{
    /// <summary>The N×N orthonormal DCT-II matrix: C[k, n] = α_k cos(π (2n + 1) k / 2N).</summary>
    public static Tensor Matrix(int n, ScalarType dtype = ScalarType.Float32)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be >= 1.");
        var c = new double[n * n];
        for (int k = 0; k < n; k++)
            for (int i = 0; i < n; i++)
                c[k * n + i] = (k == 0 ? Math.Sqrt(1.0 / n) : Math.Sqrt(2.0 / n)) * Math.Cos(Math.PI * (2 * i + 1) * k / (2.0 * n));
        return torch.tensor(c, new long[] { n, n }).to_type(dtype);
    }

    public static Tensor Forward(Tensor images)
    {
        var (ch, cw) = Matrices(images);
        using (ch) using (cw) return ch.matmul(images).matmul(cw.t());
    }

    public static Tensor Inverse(Tensor coefficients)
    {
        var (ch, cw) = Matrices(coefficients);
        using (ch) using (cw) return ch.t().matmul(coefficients).matmul(cw);
    }

    /// <summary>Images with their DCT coefficients reversed in both frequency axes: low and high frequencies swap. An involution.</summary>
    public static Tensor Flip(Tensor images)
    {
        using var y = Forward(images);
        using var flipped = y.flip(-2, -1);
        return Inverse(flipped);
    }

    /// <summary>
    /// A 0/1 mask of the DCT block [k, k+size) × [k, k+size) (block k along the diagonal; 21 blocks of
    /// size 8 for 28×28 images).
    /// </summary>
    public static Tensor DiagonalBlockMask(int height, int width, int k, int size = 8)
    {
        if (k < 0 || k + size > Math.Min(height, width))
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [0, {Math.Min(height, width) - size}] for {height}×{width} images and blocks of {size}.");
        var mask = torch.zeros(height, width);
        mask[TensorIndex.Slice(k, k + size), TensorIndex.Slice(k, k + size)] = torch.tensor(1f);
        return mask;
    }

    /// <summary>Number of diagonal blocks of <paramref name="size"/> in an image.</summary>
    public static int DiagonalBlockCount(int height, int width, int size = 8) => Math.Min(height, width) - size + 1;

    /// <summary>Projects images onto the span of the DCT basis images selected by <paramref name="mask"/> [H, W].</summary>
    public static Tensor Project(Tensor images, Tensor mask)
    {
        using var y = Forward(images);
        using var kept = y * mask.to_type(y.dtype);
        return Inverse(kept);
    }

    /// <summary>The orthonormal basis of a DCT subspace as rows: [count(mask), H·W] (for subspace-constrained DeepFool).</summary>
    public static Tensor Basis(Tensor mask)
    {
        long h = mask.shape[0], w = mask.shape[1];
        using var ch = Matrix((int)h);
        using var cw = Matrix((int)w);
        var rows = new List<Tensor>();
        var m = mask.to_type(ScalarType.Float32);
        for (long i = 0; i < h; i++)
            for (long j = 0; j < w; j++)
                if (m[i, j].item<float>() != 0)
                    rows.Add(torch.outer(ch[i], cw[j]).flatten()); // basis image of coefficient (i, j)
        var basis = torch.stack(rows.ToArray());
        foreach (var r in rows) r.Dispose();
        return basis;
    }

    static (Tensor, Tensor) Matrices(Tensor images)
    {
        if (images.dim() < 2) throw new ArgumentException($"images must have at least 2 dimensions [.., H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        return (Matrix((int)images.shape[^2], images.dtype).to(images.device), Matrix((int)images.shape[^1], images.dtype).to(images.device));
    }
}
