using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Representations;

/// <summary>
/// The reconstruction network g of knowledge consistency (Liang et al., 2019, Sec. 3, Fig. 2), after the authors' code
/// (nexuslrf/knowledge_consistency): K + 1 branches of 3×3 convolutions C → C without bias (linear maps without bias
/// for vector features). Branch 0 is linear, x̂⁽⁰⁾ = conv₀(x); branch k feeds the previous branch's output through
/// a per-sample, per-channel normalisation and a gated ReLU, x̂⁽ᵏ⁾ = conv_k(p_k · ReLU(norm(x̂⁽ᵏ⁻¹⁾))), so it holds k
/// ReLU stages: x̂⁽ᵏ⁾ is the k-th order consistent component. The gate p_k = sigmoid(a_k) starts at 0.5, and the loss
/// penalises α Σ p_k² (<see cref="KnowledgeConsistency"/>), so a branch of higher order is used only for what the
/// lower ones cannot reconstruct. norm divides by the spatial standard deviation of each sample and channel (for
/// vector features: by the standard deviation over the features of each sample).
/// <para>
/// With <c>inputSkip</c> the higher branches also see x, x̂⁽ᵏ⁾ = conv_k(x + p_k · ReLU(norm(x̂⁽ᵏ⁻¹⁾))), as in the
/// authors' code; then every branch contains a linear map of x, and a linear relation is shared among the branches
/// instead of landing in order 0. Off by default (see the notebook).
/// </para>
/// The forward pass returns the components stacked: [K + 1, N, ...]; their sum reconstructs the target minus its
/// per-channel mean. The source is centred per channel and divided by one scalar, the components multiplied by another
/// (<c>sourceScale</c>, <c>targetScale</c>), so g works on centred features of unit overall scale whatever the layer's.
/// Centring changes no variance (each is taken around the channel's mean); without it, a bias-free g spends its linear
/// branch on the target's mean and the higher branches cancel it (notebook 09).
/// </summary>
public sealed class ConsistencyNet : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> branches;
    readonly TorchSharp.Modules.Parameter gates;
    readonly long[] _featureShape;
    readonly bool _inputSkip;

    /// <summary>The number of nonlinear orders K (branches 0..K).</summary>
    public int Orders { get; }

    /// <summary>The shape of one example's features: [C, H, W] (convolutions) or [D] (linear maps).</summary>
    public IReadOnlyList<long> FeatureShape => _featureShape;

    readonly Tensor _sourceMean, _targetMean;

    /// <summary>Scalars the source is divided by and the components multiplied by (see <see cref="KnowledgeConsistency.Fit"/>).</summary>
    public double SourceScale { get; }
    public double TargetScale { get; }

    /// <summary>The per-channel means subtracted from the source before g and from the target before it is compared with Σ_k x̂⁽ᵏ⁾.</summary>
    public Tensor SourceMean => _sourceMean;
    public Tensor TargetMean => _targetMean;

    public ConsistencyNet(IReadOnlyList<long> featureShape, int orders = 2, bool inputSkip = false, double sourceScale = 1, double targetScale = 1,
        bool zeroHigherOrders = true, Tensor? sourceMean = null, Tensor? targetMean = null) : base("consistency")
    {
        ArgumentNullException.ThrowIfNull(featureShape);
        if (featureShape.Count is not (1 or 3) || featureShape.Any(d => d < 1))
            throw new ArgumentException($"featureShape must be [C, H, W] or [D] with positive sizes; got [{string.Join(", ", featureShape)}].", nameof(featureShape));
        if (orders < 0) throw new ArgumentOutOfRangeException(nameof(orders), orders, "orders must be >= 0.");
        if (!(sourceScale > 0) || !(targetScale > 0) || !double.IsFinite(sourceScale) || !double.IsFinite(targetScale))
            throw new ArgumentOutOfRangeException(nameof(sourceScale), $"the feature scales must be finite and > 0; got {sourceScale} and {targetScale}.");
        SourceScale = sourceScale;
        TargetScale = targetScale;
        _featureShape = featureShape.ToArray();
        var meanShape = _featureShape.Length == 3 ? new[] { _featureShape[0], 1L, 1L } : new[] { _featureShape[0] };
        _sourceMean = (sourceMean?.reshape(meanShape).detach().clone() ?? torch.zeros(meanShape)).DetachFromDisposeScope();
        _targetMean = (targetMean?.reshape(meanShape).detach().clone() ?? torch.zeros(meanShape)).DetachFromDisposeScope();
        _inputSkip = inputSkip;
        Orders = orders;
        long c = _featureShape[0];
        branches = new TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>>();
        for (int k = 0; k <= orders; k++)
        {
            nn.Module<Tensor, Tensor> branch = _featureShape.Length == 3 ? nn.Conv2d(c, c, 3, padding: 1, bias: false) : nn.Linear(c, c, hasBias: false);
            // The nonlinear branches start at zero, so they pick up only what the lower orders leave (what the gate penalty
            // intends). Started at random, as in the authors' code, they cancel each other over a short schedule: on MNIST
            // pool1 Var(x⁽¹⁾) and Var(x⁽²⁾) came out 6× Var(target) with a residual of 12% (notebook 09).
            if (k > 0 && zeroHigherOrders)
                using (torch.no_grad()) foreach (var w in branch.parameters()) w.zero_();
            branches.Add(branch);
        }
        // a_k = 0 ⇒ p_k = sigmoid(0) = 0.5, the authors' starting gate.
        gates = new TorchSharp.Modules.Parameter(torch.zeros(Math.Max(orders, 1)));
        RegisterComponents();
    }

    /// <summary>The gates p_k = sigmoid(a_k), k = 1..K.</summary>
    public Tensor Gates => torch.sigmoid(gates).narrow(0, 0, Orders);

    public override Tensor forward(Tensor x)
    {
        if (x.dim() != _featureShape.Length + 1 || !x.shape.Skip(1).SequenceEqual(_featureShape))
            throw new ArgumentException($"features must be [N, {string.Join(", ", _featureShape)}]; got [{string.Join(", ", x.shape)}].", nameof(x));
        var p = Gates;
        x = (x - _sourceMean) / SourceScale;
        var outputs = new Tensor[Orders + 1];
        outputs[0] = branches[0].call(x);
        for (int k = 1; k <= Orders; k++)
        {
            var gated = p[k - 1] * nn.functional.relu(Normalize(outputs[k - 1]));
            outputs[k] = branches[k].call(_inputSkip ? x + gated : gated);
        }
        var stacked = torch.stack(outputs);
        return TargetScale == 1 ? stacked : stacked * TargetScale;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _sourceMean.Dispose(); _targetMean.Dispose(); }
        base.Dispose(disposing);
    }

    /// <summary>Divides by the per-sample, per-channel spatial std (vector features: per-sample std over the features).</summary>
    static Tensor Normalize(Tensor t)
    {
        var dims = t.dim() == 4 ? new long[] { 2, 3 } : new long[] { 1 };
        return t / (t.std(dims, unbiased: false, keepdim: true) + 1e-5);
    }
}
