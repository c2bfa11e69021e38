using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Data.Synthetic;

/// <summary>A 1-D regression target λ(z) = Σ A_i sin(2π k_i z + φ_i) on a grid of z in [0, 1).</summary>
public sealed record SinusoidMixture(Tensor Z, Tensor Values, double[] Frequencies, double[] Amplitudes, double[] Phases) : IDisposable
{
    public void Dispose() { Z.Dispose(); Values.Dispose(); }
}

/// <summary>Images with a known object: the data set and the object's mask [N, 1, H, W] (1 inside the object's box).</summary>
public sealed record ObjectCanvas(TensorDataset Data, Tensor Masks) : IDisposable
{
    public void Dispose() { Data.Dispose(); Masks.Dispose(); }
}

/// <summary>
/// Deterministic synthetic data sets of seed 003's experiments. Every generator takes an explicit
/// seed and uses its own generator, so results never depend on global random state.
/// </summary>
public static class Generators
{
    /// <summary>
    /// Points uniform on concentric spheres in <paramref name="dimension"/> dimensions ("Hold me
    /// tight!", Table 2): label 0 for radii below <paramref name="boundary"/>, 1 above (the seed's
    /// radii {1, 3} vs {4, 5}: boundary 3.5).
    /// </summary>
    public static TensorDataset Hyperspheres(int perRadius, IReadOnlyList<double> radii, int dimension, int seed, double boundary = 3.5)
    {
        if (perRadius < 1) throw new ArgumentOutOfRangeException(nameof(perRadius), perRadius, "perRadius must be >= 1.");
        if (dimension < 2) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be >= 2.");
        if (radii.Count == 0 || radii.Any(r => !(r > 0))) throw new ArgumentException($"radii must be positive; got [{string.Join(", ", radii)}].", nameof(radii));
        using var g = new torch.Generator((ulong)seed);
        var parts = new List<Tensor>();
        var labels = new List<long>();
        foreach (var r in radii)
        {
            using var direction = torch.randn(new long[] { perRadius, dimension }, generator: g);
            using var norms = direction.norm(1, keepdim: true);
            parts.Add(direction / norms * r);
            labels.AddRange(Enumerable.Repeat(r < boundary ? 0L : 1L, perRadius));
        }
        var x = torch.cat(parts.ToArray());
        foreach (var p in parts) p.Dispose();
        return new TensorDataset(x, torch.tensor(labels.ToArray()), $"spheres-{string.Join("_", radii)}-d{dimension}-{seed}", 2);
    }

    /// <summary>
    /// One discriminative direction in Gaussian noise ("Hold me tight!", Sec. 3): x = ε·y·u + n with
    /// y = ±1, u a unit vector and n ~ N(0, σ²I) orthogonal to u. A classifier needs only u; its margin
    /// along u is small and along every other direction large. Labels are 0/1 for y = -1/+1.
    /// </summary>
    public static TensorDataset DiscriminativeDirection(int count, Tensor direction, double epsilon, double sigma, int seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be >= 1.");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be > 0.");
        if (!(sigma >= 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be >= 0.");
        using var scope = torch.NewDisposeScope();
        var u = direction.flatten().to_type(ScalarType.Float32);
        u = u / u.norm();
        using var g = new torch.Generator((ulong)seed);
        var y = torch.randint(0, 2, new long[] { count }, generator: g, dtype: ScalarType.Int64);
        var noise = torch.randn(new long[] { count, u.shape[0] }, generator: g) * sigma;
        noise = noise - noise.matmul(u).unsqueeze(1) * u; // remove the component along u
        var x = (y.to_type(ScalarType.Float32) * 2 - 1).unsqueeze(1) * u * epsilon + noise;
        x = x.reshape(new[] { (long)count }.Concat(direction.shape).ToArray());
        return new TensorDataset(x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope(), $"discriminative-{count}-{epsilon:R}-{sigma:R}-{seed}", 2);
    }

    /// <summary>
    /// λ(z) = Σ A_i sin(2π k_i z + φ_i) on <paramref name="points"/> equally spaced z in [0, 1) (Rahaman
    /// et al., 2019, "On the spectral bias of neural networks"; seed 003): k = 5, 10, …, 50 by default,
    /// phases uniform in [0, 2π) from the seed.
    /// </summary>
    public static SinusoidMixture Sinusoids(int points, IReadOnlyList<double> amplitudes, int seed, IReadOnlyList<double>? frequencies = null)
    {
        frequencies ??= Enumerable.Range(1, 10).Select(i => 5.0 * i).ToArray();
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), points, "points must be >= 2.");
        if (amplitudes.Count != frequencies.Count)
            throw new ArgumentException($"amplitudes must have one value per frequency ({frequencies.Count}); got {amplitudes.Count}.", nameof(amplitudes));
        var rng = new Random(seed);
        var phases = frequencies.Select(_ => rng.NextDouble() * 2 * Math.PI).ToArray();
        var z = Enumerable.Range(0, points).Select(i => (double)i / points).ToArray();
        var values = z.Select(v => Enumerable.Range(0, frequencies.Count).Sum(i => amplitudes[i] * Math.Sin(2 * Math.PI * frequencies[i] * v + phases[i]))).ToArray();
        return new SinusoidMixture(torch.tensor(z, new long[] { points, 1 }).to_type(ScalarType.Float32), torch.tensor(values).to_type(ScalarType.Float32),
            frequencies.ToArray(), amplitudes.ToArray(), phases);
    }

    /// <summary>
    /// The localisation set of E4: each image of <paramref name="source"/> pasted at a seeded random place in a larger
    /// canvas of uniform noise in [0, <paramref name="noise"/>] (pixel = max(noise, digit)). The label is the digit's; the
    /// mask [N, 1, S, S] is 1 on the pasted square, the object's bounding box — the ground truth of the pointing game and
    /// relevance mass (Quantus' <c>s_batch</c>).
    /// </summary>
    public static ObjectCanvas DigitCanvas(TensorDataset source, int canvasSize, double noise, int seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Inputs.dim() != 4)
            throw new ArgumentException($"source must hold images [N, C, H, W]; got [{string.Join(", ", source.Inputs.shape)}].", nameof(source));
        long c = source.Inputs.shape[1], h = source.Inputs.shape[2], w = source.Inputs.shape[3];
        if (canvasSize < Math.Max(h, w))
            throw new ArgumentOutOfRangeException(nameof(canvasSize), canvasSize, $"canvasSize must be at least the images' size {Math.Max(h, w)}.");
        if (!(noise >= 0 && noise <= 1)) throw new ArgumentOutOfRangeException(nameof(noise), noise, "noise must be in [0, 1].");
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed);
        long n = source.Count;
        var canvas = torch.rand(new long[] { n, c, canvasSize, canvasSize }, generator: g) * noise;
        var masks = torch.zeros(new long[] { n, 1, canvasSize, canvasSize });
        var rows = torch.randint(0, canvasSize - h + 1, new long[] { n }, generator: g).data<long>().ToArray();
        var cols = torch.randint(0, canvasSize - w + 1, new long[] { n }, generator: g).data<long>().ToArray();
        for (long i = 0; i < n; i++)
        {
            using var window = canvas[i].narrow(1, rows[i], h).narrow(2, cols[i], w);
            window.copy_(torch.maximum(window, source.Inputs[i]));
            masks[i].narrow(1, rows[i], h).narrow(2, cols[i], w).fill_(1);
        }
        return new ObjectCanvas(new TensorDataset(canvas.MoveToOuterDisposeScope(), source.Labels.clone().MoveToOuterDisposeScope(),
            $"{source.Name}-canvas{canvasSize}-{noise:R}-{seed}", source.Classes), masks.MoveToOuterDisposeScope());
    }
}
