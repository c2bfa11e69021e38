using TorchSharp;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>What the tracked network is trained for: labels (cross-entropy) or its own input (Bernoulli reconstruction of the binarised image).</summary>
public enum TrackingObjective { Classification, Autoencoding }

/// <summary>
/// The small ResNet of information-plane tracking, after Darlow &amp; Storkey (2020, Sec. 4): a stem, three residual blocks
/// h1, h2, h3 (w, 2w, 4w channels; stride 1, 2, 2), global average pooling, and a fully connected layer h4 (the penultimate
/// layer; the autoencoder's bottleneck). The skip connections are inside the blocks, so none of them passes over a tracked
/// layer (h1..h4 are block outputs), as in the paper. The head is a linear classifier, or for autoencoding an MLP decoder
/// giving one Bernoulli logit per pixel.
/// </summary>
public sealed class TrackedResNet : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> stem, h1, h2, h3, pool, flatten, h4, head;
    readonly int _imageSize;

    /// <summary>The tracked layers, shallow to deep.</summary>
    public static IReadOnlyList<string> TrackedLayers { get; } = new[] { "h1", "h2", "h3", "h4" };

    public TrackingObjective Objective { get; }

    public TrackedResNet(TrackingObjective objective, int width = 8, int bottleneck = 32, int classes = 10, int imageSize = 28) : base("tracked_resnet")
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be >= 1.");
        if (bottleneck < 1) throw new ArgumentOutOfRangeException(nameof(bottleneck), bottleneck, "bottleneck must be >= 1.");
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be >= 2.");
        if (imageSize < 4) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "imageSize must be >= 4.");
        Objective = objective;
        _imageSize = imageSize;
        var spec = new ModelSpec("resnet", ImageSize: imageSize, Classes: classes);
        stem = nn.Sequential(("conv", nn.Conv2d(1, width, 3, padding: 1, bias: false)), ("bn", nn.BatchNorm2d(width)), ("act", nn.ReLU()));
        h1 = new BasicBlock(width, width, 1, spec);
        h2 = new BasicBlock(width, 2 * width, 2, spec);
        h3 = new BasicBlock(2 * width, 4 * width, 2, spec);
        pool = nn.AdaptiveAvgPool2d(1);
        flatten = nn.Flatten();
        h4 = nn.Sequential(("fc", nn.Linear(4 * width, bottleneck)), ("act", nn.ReLU()));
        head = objective == TrackingObjective.Classification
            ? nn.Linear(bottleneck, classes)
            : nn.Sequential(("fc1", nn.Linear(bottleneck, 256)), ("act1", nn.ReLU()), ("fc2", nn.Linear(256, (long)imageSize * imageSize)));
        RegisterComponents();
    }

    /// <summary>Class logits [N, classes], or pixel logits [N, 1, S, S] for autoencoding.</summary>
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != 1 || input.shape[2] != _imageSize || input.shape[3] != _imageSize)
            throw new ArgumentException($"tracked_resnet expects input of shape [batch, 1, {_imageSize}, {_imageSize}]; got [{string.Join(", ", input.shape)}].", nameof(input));
        var h = h4.call(flatten.call(pool.call(h3.call(h2.call(h1.call(stem.call(input)))))));
        var output = head.call(h);
        return Objective == TrackingObjective.Classification ? output : output.reshape(input.shape[0], 1, _imageSize, _imageSize);
    }

    /// <summary>The training loss of the objective on a batch: cross-entropy, or the Bernoulli NLL of the binarised input per image.</summary>
    public Tensor Loss(Tensor images, Tensor labels)
    {
        var output = call(images);
        return Objective == TrackingObjective.Classification
            ? nn.functional.cross_entropy(output, labels)
            : nn.functional.binary_cross_entropy_with_logits(output, MutualInformation.Binarize(images), reduction: nn.Reduction.Sum) / images.shape[0];
    }
}
