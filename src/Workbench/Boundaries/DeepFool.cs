using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Boundaries;

/// <summary>
/// Options of (subspace-constrained) DeepFool. Defaults are the authors' code of "Hold me tight!"
/// (LTS4/hold-me-tight): overshoot 0.02, at most 100 iterations, the step length clamped below at 1e-4.
/// </summary>
public sealed record DeepFoolOptions
{
    /// <summary>The final perturbation is (1 + overshoot)·r, which pushes x just across the linearised boundary.</summary>
    public double Overshoot { get; init; } = 0.02;
    public int MaxIterations { get; init; } = 100;
    /// <summary>The lower clamp of each step's length (authors: torch.clamp(pert, min=1e-4)).</summary>
    public double MinimumStep { get; init; } = 1e-4;
    /// <summary>Examples (× subspaces) attacked together in one batch; bounds memory, not results.</summary>
    public int BatchSize { get; init; } = 1024;

    public DeepFoolOptions Validate()
    {
        if (!(Overshoot > 0 && double.IsFinite(Overshoot))) throw new ArgumentOutOfRangeException(nameof(Overshoot), Overshoot, $"Overshoot must be a finite number > 0; got {Overshoot}.");
        if (MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, $"MaxIterations must be >= 1; got {MaxIterations}.");
        if (!(MinimumStep >= 0 && double.IsFinite(MinimumStep))) throw new ArgumentOutOfRangeException(nameof(MinimumStep), MinimumStep, $"MinimumStep must be a finite number >= 0; got {MinimumStep}.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be >= 1; got {BatchSize}.");
        return this;
    }
}

/// <summary>
/// Minimal perturbations of a batch. <see cref="Margins"/> is ‖(1 + overshoot)·r‖₂ (the paper's margin) for
/// examples whose prediction flipped and +∞ for the others (<see cref="Flipped"/> false: the cap was reached,
/// or the subspace holds no direction that changes the logits), so a mean or a percentile never silently
/// treats "not found" as a number; <see cref="ReachedNorms"/> has the norm they got to.
/// </summary>
public sealed record DeepFoolResult(Tensor Perturbations, double[] Margins, double[] ReachedNorms, bool[] Flipped, int[] Iterations,
    long[] OriginalLabels, long[] FinalLabels) : IDisposable
{
    public int Count => Margins.Length;
    public int NotFlipped => Flipped.Count(f => !f);
    public void Dispose() => Perturbations.Dispose();
}

/// <summary>
/// DeepFool (Moosavi-Dezfooli et al., 2016), multi-class, and its subspace-constrained form ("Hold me tight!",
/// Ortiz-Jiménez et al., 2020): at every iteration each class's logit gradient is projected onto span(S), the
/// linearised boundary nearest in S is found, l̂ = argmin_k |f_k − f_orig| / ‖P_S(∇f_k − ∇f_orig)‖, and x steps
/// onto it. All classes are candidates (the authors' num_classes = 10); no clipping to the data range (as the
/// authors). Batched over examples and over subspaces: every example × subspace pair is one row of the batch,
/// so the network runs once per iteration for all of them; pairs leave the batch when they flip.
/// </summary>
public static class DeepFool
{
    /// <summary>A projected gradient difference counts as zero below this fraction of its unprojected norm.</summary>
    const double RelativeZero = 1e-5;

    /// <summary>DeepFool on every example of <paramref name="inputs"/> [N, ...], in the whole space or within <paramref name="subspace"/>.</summary>
    public static DeepFoolResult Attack(AttributionModel model, Tensor inputs, DeepFoolOptions? options = null, Subspace? subspace = null,
        IProgressSink? progress = null) =>
        AttackInSubspaces(model, inputs, new[] { subspace }, options, progress)[0];

    /// <summary>
    /// Subspace DeepFool of every example in every subspace (null = the whole space): one result per subspace,
    /// in order. Equivalent to calling <see cref="Attack"/> per subspace, but batched across them.
    /// </summary>
    public static IReadOnlyList<DeepFoolResult> AttackInSubspaces(AttributionModel model, Tensor inputs, IReadOnlyList<Subspace?> subspaces,
        DeepFoolOptions? options = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(subspaces);
        options = (options ?? new DeepFoolOptions()).Validate();
        progress ??= NullProgress.Instance;
        if (inputs.dim() < 2 || inputs.shape[0] == 0)
            throw new ArgumentException($"inputs must be a non-empty batch [N, ...]; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        if (subspaces.Count == 0) throw new ArgumentException("subspaces must hold at least one subspace (null = the whole space); got none.", nameof(subspaces));
        long n = inputs.shape[0], dimension = inputs.numel() / n;
        foreach (var s in subspaces)
            if (s is not null && s.AmbientDimension != dimension)
                throw new ArgumentException($"every subspace must live in the input space R^{dimension}; subspace '{s.Name}' has D = {s.AmbientDimension}.", nameof(subspaces));

        using var mode = model.EvalMode();
        // Only input gradients are needed: parameters stop requiring gradients for the attack (restored after), so no
        // backward pass computes a weight gradient.
        var frozen = model.Modules.SelectMany(module => module.parameters()).Where(p => p.requires_grad).ToList();
        foreach (var p in frozen) p.requires_grad_(false);
        try
        {
            return AttackRows(model.Forward, inputs, subspaces, options, progress, n, dimension);
        }
        finally { foreach (var p in frozen) p.requires_grad_(true); }
    }

    static IReadOnlyList<DeepFoolResult> AttackRows(Func<Tensor, Tensor> model, Tensor inputs, IReadOnlyList<Subspace?> subspaces, DeepFoolOptions options,
        IProgressSink progress, long n, long dimension)
    {
        int rows = checked((int)(n * subspaces.Count));
        var margins = new double[rows];
        var reached = new double[rows];
        var flipped = new bool[rows];
        var iterations = new int[rows];
        var original = new long[rows];
        var final = new long[rows];
        var perturbations = torch.zeros(new[] { (long)rows, dimension }, dtype: ScalarType.Float32, device: inputs.device);
        using var flat = inputs.detach().reshape(n, dimension).to_type(ScalarType.Float32);
        using var task = progress.Start("DeepFool", rows);
        int done = 0;
        // Rows are example-major (row = i·S + s), so a chunk holds whole groups of rows of one image; a chunk is a
        // contiguous range of rows.
        int count0 = subspaces.Count;
        for (int start = 0; start < rows; start += options.BatchSize)
        {
            int count = Math.Min(options.BatchSize, rows - start);
            var subspaceOf = Enumerable.Range(start, count).Select(row => row % count0).ToArray();
            long firstExample = start / count0, lastExample = (start + count - 1) / count0;
            var uniqueOf = Enumerable.Range(start, count).Select(row => (int)(row / count0 - firstExample)).ToArray();
            var chunk = new Chunk(start, subspaceOf, uniqueOf, margins, reached, flipped, iterations, original, final);
            using (var unique = flat.narrow(0, firstExample, lastExample - firstExample + 1))
            using (var r = Run(model, unique, inputs.shape, subspaces, options, chunk))
                perturbations.narrow(0, start, count).copy_(r);
            done += count;
            task.Report(done, $"{flipped.Take(done).Count(f => !f)} not flipped");
        }
        var results = new List<DeepFoolResult>();
        for (int s = 0; s < subspaces.Count; s++)
        {
            var rowsOf = Enumerable.Range(0, (int)n).Select(i => i * count0 + s).ToArray();
            T[] Pick<T>(T[] all) => rowsOf.Select(row => all[row]).ToArray();
            using var index = torch.tensor(rowsOf.Select(row => (long)row).ToArray(), device: inputs.device);
            using var picked = perturbations.index_select(0, index);
            results.Add(new DeepFoolResult(picked.reshape(inputs.shape).clone(),
                Pick(margins), Pick(reached), Pick(flipped), Pick(iterations), Pick(original), Pick(final)));
        }
        perturbations.Dispose();
        return results;
    }

    sealed record Chunk(int Start, int[] SubspaceOf, int[] UniqueOf, double[] Margins, double[] Reached, bool[] Flipped, int[] Iterations, long[] Original, long[] Final);

    /// <summary>
    /// The DeepFool loop on one chunk of rows, row j starting at unique[UniqueOf[j]]; returns (1 + overshoot)·r [m, D] and
    /// fills the chunk's arrays. At the first iteration every row of one image sits at the same point, so the logits
    /// and gradients are computed once per image and shared by its subspaces (the batched path's main saving).
    /// </summary>
    static Tensor Run(Func<Tensor, Tensor> model, Tensor unique, long[] inputShape, IReadOnlyList<Subspace?> subspaces, DeepFoolOptions options, Chunk chunk)
    {
        long m = chunk.SubspaceOf.Length, dimension = unique.shape[1];
        long[] Shape(long rows) => new[] { rows }.Concat(inputShape.Skip(1)).ToArray();
        using var rowIndex = torch.tensor(chunk.UniqueOf.Select(u => (long)u).ToArray(), device: unique.device);
        using var x0 = unique.index_select(0, rowIndex);
        var r = torch.zeros_like(x0).DetachFromDisposeScope();
        long[] original, uniqueOriginal;
        using (torch.no_grad())
        using (var logits0 = model(unique.reshape(Shape(unique.shape[0]))))
        using (var argmax = logits0.argmax(1))
        {
            uniqueOriginal = argmax.data<long>().ToArray();
            original = chunk.UniqueOf.Select(u => uniqueOriginal[u]).ToArray();
        }
        var active = Enumerable.Range(0, (int)m).ToList();
        var flipped = new bool[m];
        var iterations = new int[m];
        var final = (long[])original.Clone();
        double scale = 1 + options.Overshoot;

        for (int iteration = 0; iteration < options.MaxIterations && active.Count > 0; iteration++)
        {
            using var scope = torch.NewDisposeScope();
            var a = torch.tensor(active.Select(i => (long)i).ToArray(), device: x0.device);
            // Iteration 0: all rows of an image are at x0, so evaluate each image once and repeat its result per row.
            bool shared = iteration == 0;
            var points = shared ? unique : x0.index_select(0, a) + r.index_select(0, a);
            long[] pointClass = shared ? uniqueOriginal : active.Select(i => original[i]).ToArray();
            var x = points.detach().requires_grad_(true);
            var logits = model(x.reshape(Shape(x.shape[0])));
            long classes = logits.shape[1];
            // w_k = ∇ₓ(f_k − f_orig) and f_k − f_orig for the C − 1 other classes, in the order k = orig + j (mod C):
            // one backward pass per j over the whole batch (examples are independent).
            var orig = torch.tensor(pointClass, device: x0.device).unsqueeze(1);
            var fOrig = logits.gather(1, orig);
            var others = (orig + torch.arange(1, classes, device: x0.device).unsqueeze(0)).remainder(classes); // [p, C − 1]
            var differences = logits.gather(1, others) - fOrig;                                                  // f_k − f_orig
            var w = torch.stack(Enumerable.Range(0, (int)classes - 1).Select(j =>
                autograd.grad(new[] { differences[.., j].sum() }, new[] { x }, retain_graph: j < classes - 2)[0].reshape(x.shape[0], dimension)).ToArray(), 1);
            var f = differences.detach().abs();
            if (shared)
            {
                var perRow = torch.tensor(active.Select(i => (long)chunk.UniqueOf[i]).ToArray(), device: x0.device);
                w = w.index_select(0, perRow);
                f = f.index_select(0, perRow);
            }
            var rawNorm = w.norm(2);                                    // ‖∇f_k − ∇f_orig‖       [a, C − 1]
            w = Project(w, active, chunk.SubspaceOf, subspaces);        // P_S(∇f_k − ∇f_orig)    [a, C − 1, D]
            var wNorm = w.norm(2);
            var usable = (wNorm > rawNorm * RelativeZero) & (wNorm > 0);
            var distance = torch.where(usable, f / wNorm.clamp_min(1e-30), torch.full_like(f, double.PositiveInfinity));
            var (nearest, best) = distance.min(1);
            var stalled = nearest.isinf();
            var direction = w.gather(1, best.view(-1, 1, 1).expand(-1, 1, dimension)).squeeze(1);
            var directionNorm = wNorm.gather(1, best.unsqueeze(1)).squeeze(1);
            // Hold me tight: r_i = clamp(pert, min=1e-4) · w / ‖w‖; no step where no direction changes the logits.
            var length = torch.where(stalled, torch.zeros_like(nearest), nearest.clamp_min(options.MinimumStep) / directionNorm.clamp_min(1e-30));
            r.index_add_(0, a, (direction * length.unsqueeze(1)).detach(), 1);
            using (torch.no_grad())
            {
                var check = model((x0.index_select(0, a) + scale * r.index_select(0, a)).reshape(Shape(active.Count))).argmax(1).data<long>().ToArray();
                var isStalled = stalled.data<bool>().ToArray();
                var still = new List<int>();
                for (int j = 0; j < active.Count; j++)
                {
                    int i = active[j];
                    if (!isStalled[j]) iterations[i]++;
                    final[i] = check[j];
                    flipped[i] = check[j] != original[i];
                    if (!flipped[i] && !isStalled[j]) still.Add(i);
                }
                active = still;
            }
        }
        var result = (r * scale).DetachFromDisposeScope();
        r.Dispose();
        using (var norms = result.to_type(ScalarType.Float64).norm(1))
        {
            var values = norms.data<double>().ToArray();
            for (int i = 0; i < m; i++)
            {
                int row = chunk.Start + i;
                chunk.Reached[row] = values[i];
                chunk.Margins[row] = flipped[i] ? values[i] : double.PositiveInfinity;
                chunk.Flipped[row] = flipped[i];
                chunk.Iterations[row] = iterations[i];
                chunk.Original[row] = original[i];
                chunk.Final[row] = final[i];
            }
        }
        return result;
    }

    /// <summary>Projects each active row's gradients [a, C, D] onto its row's subspace (rows of one subspace together).</summary>
    static Tensor Project(Tensor gradients, List<int> active, int[] subspaceOf, IReadOnlyList<Subspace?> subspaces)
    {
        var groups = active.Select((row, position) => (subspaceOf[row], position)).GroupBy(p => p.Item1).ToList();
        if (groups.Count == 1 && subspaces[groups[0].Key] is null) return gradients;
        var projected = torch.empty_like(gradients);
        foreach (var group in groups)
        {
            using var positions = torch.tensor(group.Select(p => (long)p.position).ToArray(), device: gradients.device);
            using var rows = gradients.index_select(0, positions);
            var s = subspaces[group.Key];
            using var p = s is null ? rows.clone() : s.Project(rows);
            projected.index_copy_(0, positions, p);
        }
        return projected;
    }
}
