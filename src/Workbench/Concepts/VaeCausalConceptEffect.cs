using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>
/// The two VAE estimators of CaCE (Goyal et al., 2019, Sec. 4; the seed's Tables 1–4), for data
/// whose generator is unknown: a conditional VAE stands in for g. Both decode one latent under
/// do(C = a) and under do(C = b) (the same z for both: the exogenous noise is shared, as in the SCM)
/// and feed the decoded images to <see cref="CausalConceptEffect.FromInterventions"/>.
/// </summary>
public static class VaeCausalConceptEffect
{
    /// <summary>
    /// Dec-CaCE: z ~ N(0, I) from the prior, one per row of the conditions; <paramref name="conditionsA"/>[i]
    /// and <paramref name="conditionsB"/>[i] hold the same other concepts (drawn from their observed
    /// distribution) and the concept set to a and to b.
    /// </summary>
    public static CausalEffect Decoder(Func<Tensor, Tensor> f, ConditionalVae vae, Tensor conditionsA, Tensor conditionsB, int seed)
    {
        ArgumentNullException.ThrowIfNull(vae);
        CheckPair(conditionsA, conditionsB);
        using var z = PriorLatents(vae, conditionsA.shape[0], seed);
        return FromLatents(f, vae, z, conditionsA, conditionsB);
    }

    /// <summary>
    /// EncDec-CaCE: each real image is encoded with its observed conditions (z = the posterior mean),
    /// then decoded with the concept set to a and to b.
    /// </summary>
    public static CausalEffect EncoderDecoder(Func<Tensor, Tensor> f, ConditionalVae vae, Tensor images, Tensor observedConditions, Tensor conditionsA, Tensor conditionsB)
    {
        ArgumentNullException.ThrowIfNull(vae);
        CheckPair(conditionsA, conditionsB);
        if (images.shape[0] != conditionsA.shape[0])
            throw new ArgumentException($"images must hold one image per condition row ({conditionsA.shape[0]}); got {images.shape[0]}.", nameof(images));
        using var z = PosteriorMeans(vae, images, observedConditions);
        return FromLatents(f, vae, z, conditionsA, conditionsB);
    }

    /// <summary>Dec-CaCE's latents: <paramref name="count"/> draws z ~ N(0, I) [count, latent], seeded.</summary>
    public static Tensor PriorLatents(ConditionalVae vae, long count, int seed)
    {
        ArgumentNullException.ThrowIfNull(vae);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be >= 1.");
        using var g = new torch.Generator((ulong)seed);
        return torch.randn(new[] { count, (long)vae.LatentSize }, generator: g);
    }

    /// <summary>EncDec-CaCE's latents: the posterior mean of each image under its observed conditions [N, latent].</summary>
    public static Tensor PosteriorMeans(ConditionalVae vae, Tensor images, Tensor observedConditions)
    {
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(images);
        return Chunked(images.shape[0], (first, n) =>
        {
            using var noGrad = torch.no_grad();
            return vae.Encode(images.narrow(0, first, n), observedConditions.narrow(0, first, n)).Mu;
        });
    }

    /// <summary>Latents [N, latent] decoded under conditions [N, c] (the images of one intervention), in chunks without gradients.</summary>
    public static Tensor DecodeAll(ConditionalVae vae, Tensor z, Tensor conditions)
    {
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(z);
        return Chunked(z.shape[0], (first, n) =>
        {
            using var noGrad = torch.no_grad();
            return vae.Decode(z.narrow(0, first, n), conditions.narrow(0, first, n));
        });
    }

    static CausalEffect FromLatents(Func<Tensor, Tensor> f, ConditionalVae vae, Tensor z, Tensor conditionsA, Tensor conditionsB)
    {
        using var doA = DecodeAll(vae, z, conditionsA);
        using var doB = DecodeAll(vae, z, conditionsB);
        return CausalConceptEffect.FromInterventions(f, doA, doB);
    }

    /// <summary>Concatenates <paramref name="part"/>(first, n) over chunks of 512 rows, each in its own dispose scope.</summary>
    static Tensor Chunked(long rows, Func<long, long, Tensor> part)
    {
        var parts = new List<Tensor>();
        for (long first = 0; first < rows; first += 512)
        {
            using var scope = torch.NewDisposeScope();
            parts.Add(part(first, Math.Min(512, rows - first)).MoveToOuterDisposeScope());
        }
        var all = torch.cat(parts.ToArray());
        foreach (var p in parts) p.Dispose();
        return all;
    }

    static void CheckPair(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a, "conditionsA");
        ArgumentNullException.ThrowIfNull(b, "conditionsB");
        if (a.dim() != 2 || a.shape[0] < 1)
            throw new ArgumentException($"conditionsA must be condition vectors [N, c] with N >= 1; got [{string.Join(", ", a.shape)}].", "conditionsA");
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"conditionsB must pair with conditionsA row for row ([{string.Join(", ", a.shape)}]); got [{string.Join(", ", b.shape)}].", "conditionsB");
    }
}
