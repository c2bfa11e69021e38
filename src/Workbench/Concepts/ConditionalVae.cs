using TorchSharp;
using Workbench.Data;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Concepts;

/// <summary>How the conditional VAE is built and trained (Adam, the negative ELBO: Bernoulli reconstruction + KL).</summary>
public sealed record CvaeOptions
{
    public int LatentSize { get; init; } = 8;
    public int Hidden { get; init; } = 256;
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; }

    public CvaeOptions Validate()
    {
        static void Check(bool ok, string name, string expected, object actual)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, actual, $"{name} must be {expected}; got {actual}.");
        }
        Check(LatentSize >= 1, nameof(LatentSize), ">= 1", LatentSize);
        Check(Hidden >= 1, nameof(Hidden), ">= 1", Hidden);
        Check(Epochs >= 1, nameof(Epochs), ">= 1", Epochs);
        Check(BatchSize >= 1, nameof(BatchSize), ">= 1", BatchSize);
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), "a finite number > 0", LearningRate);
        return this;
    }
}

/// <summary>The negative ELBO per epoch (mean per image) and its two terms.</summary>
public sealed record CvaeHistory(double[] Loss, double[] Reconstruction, double[] Kl);

/// <summary>
/// A conditional VAE (Sohn et al., 2015) as the CaCE paper uses it (Goyal et al., 2019, Sec. 4): the
/// image I is generated from a latent z ~ N(0, I) and the concepts c (one-hot, the label among them),
/// p(I | z, c) Bernoulli per pixel, q(z | I, c) Gaussian. Decoding one z under two values of a concept
/// is the model's stand-in for the intervention do(C = a) vs do(C = b). MLPs on flattened images;
/// pixels must lie in [0, 1].
/// </summary>
public sealed class ConditionalVae : nn.Module
{
    readonly nn.Module<Tensor, Tensor> encoder, mu, logVar, decoder;

    public long[] ImageShape { get; }
    public int ConditionSize { get; }
    public int LatentSize { get; }

    public ConditionalVae(long[] imageShape, int conditionSize, CvaeOptions? options = null) : base("cvae")
    {
        options = (options ?? new CvaeOptions()).Validate();
        ArgumentNullException.ThrowIfNull(imageShape);
        if (imageShape.Length == 0 || imageShape.Any(s => s < 1))
            throw new ArgumentException($"imageShape must be positive sizes, e.g. [3, 28, 28]; got [{string.Join(", ", imageShape)}].", nameof(imageShape));
        if (conditionSize < 1) throw new ArgumentOutOfRangeException(nameof(conditionSize), conditionSize, "conditionSize must be >= 1.");
        ImageShape = imageShape.ToArray();
        ConditionSize = conditionSize;
        LatentSize = options.LatentSize;
        long pixels = ImageShape.Aggregate(1L, (a, b) => a * b);
        int h = options.Hidden;
        encoder = nn.Sequential(nn.Linear(pixels + conditionSize, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU());
        mu = nn.Linear(h, LatentSize);
        logVar = nn.Linear(h, LatentSize);
        decoder = nn.Sequential(nn.Linear(LatentSize + conditionSize, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, pixels));
        RegisterComponents();
    }

    /// <summary>q(z | I, c): its mean and log-variance [N, latent].</summary>
    public (Tensor Mu, Tensor LogVar) Encode(Tensor images, Tensor conditions)
    {
        CheckImages(images, nameof(images));
        if (images.dim() != ImageShape.Length + 1 || !images.shape.Skip(1).SequenceEqual(ImageShape))
            throw new ArgumentException($"images must be [N, {string.Join(", ", ImageShape)}]; got [{string.Join(", ", images.shape)}].", nameof(images));
        CheckConditions(conditions, images.shape[0], nameof(conditions));
        var hidden = encoder.call(torch.cat(new[] { images.reshape(images.shape[0], -1), conditions.to_type(images.dtype) }, 1));
        return (mu.call(hidden), logVar.call(hidden));
    }

    /// <summary>The decoder's Bernoulli logits for latents [N, latent] and conditions [N, c], shaped as images.</summary>
    public Tensor DecodeLogits(Tensor z, Tensor conditions)
    {
        if (z.dim() != 2 || z.shape[1] != LatentSize)
            throw new ArgumentException($"z must be latents [N, {LatentSize}]; got [{string.Join(", ", z.shape)}].", nameof(z));
        CheckConditions(conditions, z.shape[0], nameof(conditions));
        var logits = decoder.call(torch.cat(new[] { z, conditions.to_type(z.dtype) }, 1));
        return logits.reshape(new[] { z.shape[0] }.Concat(ImageShape).ToArray());
    }

    /// <summary>The decoded images (Bernoulli means, in [0, 1]).</summary>
    public Tensor Decode(Tensor z, Tensor conditions) => torch.sigmoid(DecodeLogits(z, conditions));

    /// <summary>
    /// The negative ELBO per image, averaged over the batch: Σ_pixels BCE(decoder logits, I) + KL(q(z|I,c) ‖ N(0, I)),
    /// with one reparameterised sample z = μ + σ ε.
    /// </summary>
    public (Tensor Loss, Tensor Reconstruction, Tensor Kl) Loss(Tensor images, Tensor conditions)
    {
        var (m, lv) = Encode(images, conditions);
        var z = m + torch.exp(0.5 * lv) * torch.randn_like(m);
        var logits = DecodeLogits(z, conditions);
        var reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, images, reduction: nn.Reduction.Sum) / images.shape[0];
        var kl = -0.5 * (1 + lv - m.pow(2) - lv.exp()).sum() / images.shape[0];
        return (reconstruction + kl, reconstruction, kl);
    }

    /// <summary>Trains a new CVAE on images [N, ...] in [0, 1] with their conditions [N, c]; seeded (initialisation, batch order, noise).</summary>
    public static (ConditionalVae Model, CvaeHistory History) Fit(Tensor images, Tensor conditions, CvaeOptions? options = null, IProgressSink? progress = null)
    {
        options = (options ?? new CvaeOptions()).Validate();
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(conditions);
        if (images.dim() < 2 || images.shape[0] < 2)
            throw new ArgumentException($"images must be a batch [N, ...] with N >= 2; got [{string.Join(", ", images.shape)}].", nameof(images));
        CheckImages(images, nameof(images));
        if (conditions.dim() != 2 || conditions.shape[0] != images.shape[0])
            throw new ArgumentException($"conditions must be one condition vector per image [{images.shape[0]}, c]; got [{string.Join(", ", conditions.shape)}].", nameof(conditions));
        progress ??= NullProgress.Instance;
        TorchRuntime.Seed(options.Seed);
        var model = new ConditionalVae(images.shape.Skip(1).ToArray(), (int)conditions.shape[1], options);
        var x = images.to_type(ScalarType.Float32);
        var c = conditions.to_type(ScalarType.Float32);
        using var optimizer = torch.optim.Adam(model.parameters(), options.LearningRate);
        var loss = new double[options.Epochs];
        var rec = new double[options.Epochs];
        var kl = new double[options.Epochs];
        long n = images.shape[0];
        long batches = (n + options.BatchSize - 1) / options.BatchSize;
        model.train();
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            using var task = progress.Start($"CVAE epoch {epoch + 1}/{options.Epochs}", batches);
            using var order = TensorDataset.Permutation(n, options.Seed * 1_000_003L + epoch);
            long b = 0;
            for (long first = 0; first < n; first += options.BatchSize, b++)
            {
                using var scope = torch.NewDisposeScope();
                var index = order.narrow(0, first, Math.Min(options.BatchSize, n - first));
                optimizer.zero_grad();
                var (total, r, k) = model.Loss(x.index_select(0, index), c.index_select(0, index));
                total.backward();
                optimizer.step();
                long m = index.shape[0];
                loss[epoch] += total.item<float>() * m;
                rec[epoch] += r.item<float>() * m;
                kl[epoch] += k.item<float>() * m;
                task.Report(b + 1, $"loss {loss[epoch] / Math.Min(n, first + m):F1}");
            }
            (loss[epoch], rec[epoch], kl[epoch]) = (loss[epoch] / n, rec[epoch] / n, kl[epoch] / n);
        }
        model.eval();
        return (model, new CvaeHistory(loss, rec, kl));
    }

    void CheckConditions(Tensor conditions, long n, string name)
    {
        ArgumentNullException.ThrowIfNull(conditions, name);
        if (conditions.dim() != 2 || conditions.shape[0] != n || conditions.shape[1] != ConditionSize)
            throw new ArgumentException($"{name} must be [{n}, {ConditionSize}]; got [{string.Join(", ", conditions.shape)}].", name);
    }

    static void CheckImages(Tensor images, string name)
    {
        ArgumentNullException.ThrowIfNull(images, name);
        using var scope = torch.NewDisposeScope();
        if (images.numel() > 0 && (images.min().item<float>() < 0 || images.max().item<float>() > 1))
            throw new ArgumentException($"{name} must hold pixels in [0, 1] (Bernoulli targets); got values in [{images.min().item<float>()}, {images.max().item<float>()}].", name);
    }
}
