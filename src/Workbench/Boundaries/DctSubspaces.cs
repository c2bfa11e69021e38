using Workbench.Data.Transforms;
using static TorchSharp.torch;

namespace Workbench.Boundaries;

/// <summary>
/// The subspaces of "Hold me tight!" Fig. 2: the span of the orthonormal 2-D DCT basis images of one
/// size×size block on the diagonal of the frequency plane, moved by one coefficient per block (21 blocks
/// of 8×8 for 28×28 images: block 0 is the lowest frequencies, block 20 the highest).
/// </summary>
public static class DctSubspaces
{
    public static IReadOnlyList<Subspace> Diagonal(int height, int width, int size = 8)
    {
        if (size < 1 || size > Math.Min(height, width))
            throw new ArgumentOutOfRangeException(nameof(size), size, $"size must be in [1, {Math.Min(height, width)}] for {height}×{width} images; got {size}.");
        var blocks = new List<Subspace>();
        for (int k = 0; k < Dct2D.DiagonalBlockCount(height, width, size); k++)
        {
            using var mask = Dct2D.DiagonalBlockMask(height, width, k, size);
            using var basis = Dct2D.Basis(mask);
            blocks.Add(new Subspace(basis, $"DCT block {k}"));
        }
        return blocks;
    }
}
