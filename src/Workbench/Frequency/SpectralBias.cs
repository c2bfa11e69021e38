using TorchSharp;
using Workbench.Data.Synthetic;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Frequency;

/// <summary>
/// The spectral-bias regression of Rahaman et al. (2019): a deep ReLU MLP fitted to λ(z) = Σ A_i sin(2π k_i z + φ_i) by
/// full-batch Adam on MSE. Defaults are the authors' code (nasimrahaman/SpectralBias): 6 linear layers of width 256,
/// Adam 3e-4, 60,000 iterations recorded every 100.
/// </summary>
public sealed record SpectralBiasOptions
{
    /// <summary>Linear layers (the first maps 1 → width, the last width → 1).</summary>
    public int Depth { get; init; } = 6;
    public int Width { get; init; } = 256;
    public double LearningRate { get; init; } = 3e-4;
    public int Steps { get; init; } = 60_000;
    public int RecordEvery { get; init; } = 100;
    public int Seed { get; init; }

    public SpectralBiasOptions Validate()
    {
        if (Depth < 2) throw new ArgumentOutOfRangeException(nameof(Depth), Depth, $"Depth must be >= 2; got {Depth}.");
        if (Width < 1) throw new ArgumentOutOfRangeException(nameof(Width), Width, $"Width must be >= 1; got {Width}.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, $"LearningRate must be a finite number > 0; got {LearningRate}.");
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"Steps must be >= 1; got {Steps}.");
        if (RecordEvery < 1) throw new ArgumentOutOfRangeException(nameof(RecordEvery), RecordEvery, $"RecordEvery must be >= 1; got {RecordEvery}.");
        return this;
    }
}

/// <summary>
/// One training run: the amplitude of each target frequency in the network's output, divided by the target's
/// amplitude (1 = learned), at every recorded step (rows) and frequency (columns).
/// </summary>
public sealed record SpectralBiasRun(nn.Module<Tensor, Tensor> Model, int[] Steps, double[][] NormalizedAmplitudes, double[] Frequencies, double[] TargetAmplitudes,
    double FinalLoss) : IDisposable
{
    /// <summary>The first recorded step at which frequency i reaches <paramref name="fraction"/> of its amplitude (int.MaxValue: never).</summary>
    public int StepLearned(int i, double fraction = 0.5)
    {
        for (int r = 0; r < Steps.Length; r++)
            if (NormalizedAmplitudes[r][i] >= fraction) return Steps[r];
        return int.MaxValue;
    }

    public void Dispose() => Model.Dispose();
}

public static class SpectralBias
{
    /// <summary>The deep ReLU MLP R^d → R of the paper (d = 1, or 2 for data on a curve in the plane, Section 5).</summary>
    public static nn.Module<Tensor, Tensor> Network(SpectralBiasOptions options, int inputDimension = 1)
    {
        options.Validate();
        if (inputDimension < 1) throw new ArgumentOutOfRangeException(nameof(inputDimension), inputDimension, $"inputDimension must be >= 1; got {inputDimension}.");
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < options.Depth; i++)
        {
            long inputs = i == 0 ? inputDimension : options.Width, outputs = i == options.Depth - 1 ? 1 : options.Width;
            layers.Add(($"fc{i + 1}", nn.Linear(inputs, outputs)));
            if (i < options.Depth - 1) layers.Add(($"relu{i + 1}", nn.ReLU()));
        }
        return nn.Sequential(layers);
    }

    /// <summary>
    /// Fits the network to the target by full-batch Adam on MSE, recording the normalised spectrum of its output on the target's grid.
    /// <paramref name="embedded"/> [N, d] is the grid as the network sees it (default: z itself); the spectrum is always taken
    /// along z, so with γ(z) it is the spectrum of f∘γ, the function the network learns on the data manifold (Section 5).
    /// </summary>
    public static SpectralBiasRun Train(SinusoidMixture target, SpectralBiasOptions? options = null, IProgressSink? progress = null, Tensor? embedded = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        options = (options ?? new SpectralBiasOptions()).Validate();
        progress ??= NullProgress.Instance;
        var z = embedded is null ? Inputs(target.Z) : Embedded(embedded, target.Z.shape[0]);
        using var y = SpectralAmplitudes.OneDimensional(target.Values, nameof(target)).to_type(ScalarType.Float32).unsqueeze(1);
        TorchRuntime.Seed(options.Seed);
        var model = Network(options, (int)z.shape[1]);
        var steps = new List<int>();
        var spectra = new List<double[]>();
        double loss = FullBatch(model, options, progress, "spectral bias", () => nn.functional.mse_loss(model.call(z), y), step =>
        {
            steps.Add(step);
            spectra.Add(Normalized(model, z, target.Frequencies, target.Amplitudes));
        });
        z.Dispose();
        return new SpectralBiasRun(model, steps.ToArray(), spectra.ToArray(), target.Frequencies, target.Amplitudes, loss);
    }

    /// <summary>
    /// The full-batch Adam loop of the paper's experiments: <paramref name="record"/> runs at step 0, every
    /// <see cref="SpectralBiasOptions.RecordEvery"/> steps and after the last; returns the last step's loss.
    /// </summary>
    internal static double FullBatch(nn.Module<Tensor, Tensor> model, SpectralBiasOptions options, IProgressSink progress, string name,
        Func<Tensor> loss, Action<int> record)
    {
        using var optimizer = torch.optim.Adam(model.parameters(), options.LearningRate);
        double last = double.NaN;
        using var task = progress.Start(name, options.Steps);
        for (int step = 0; step <= options.Steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            if (step % options.RecordEvery == 0 || step == options.Steps) record(step);
            if (step == options.Steps) break;
            optimizer.zero_grad();
            var value = loss();
            value.backward();
            optimizer.step();
            last = value.item<float>();
            if (step % 100 == 0) task.Report(step + 1, $"loss {last:G3}");
        }
        return last;
    }

    /// <summary>
    /// Robustness to parameter noise (the paper's Fig. 3): θ + δ·u for a random unit direction u over all parameters and
    /// growing δ; the amplitude of each frequency divided by the trained network's, averaged over <paramref name="draws"/>
    /// directions. Rows: δ; columns: frequencies. The model's parameters are restored.
    /// </summary>
    public static double[][] ParameterNoise(nn.Module<Tensor, Tensor> model, Tensor z, IReadOnlyList<double> frequencies, IReadOnlyList<double> norms, int draws, int seed)
    {
        if (draws < 1) throw new ArgumentOutOfRangeException(nameof(draws), draws, $"draws must be >= 1; got {draws}.");
        if (norms.Count == 0 || norms.Any(d => !(d >= 0))) throw new ArgumentException($"norms must be a non-empty list of values >= 0; got [{string.Join(", ", norms)}].", nameof(norms));
        using var input = Inputs(z);
        var parameters = model.parameters().ToList();
        using var noGrad = torch.no_grad();
        var trained = parameters.Select(p => p.detach().clone()).ToList();
        var reference = Amplitudes(model, input, frequencies);
        var sums = norms.Select(_ => new double[frequencies.Count]).ToArray();
        using var g = new torch.Generator((ulong)seed);
        try
        {
            for (int draw = 0; draw < draws; draw++)
            {
                using var scope = torch.NewDisposeScope();
                var directions = parameters.Select(p => torch.randn(p.shape, generator: g)).ToList();
                var length = torch.sqrt(torch.stack(directions.Select(d => d.pow(2).sum()).ToArray()).sum());
                for (int i = 0; i < norms.Count; i++)
                {
                    for (int j = 0; j < parameters.Count; j++) parameters[j].copy_(trained[j] + directions[j] / length * norms[i]);
                    var a = Amplitudes(model, input, frequencies);
                    for (int k = 0; k < a.Length; k++) sums[i][k] += a[k] / reference[k] / draws;
                }
            }
        }
        finally
        {
            for (int j = 0; j < parameters.Count; j++) parameters[j].copy_(trained[j]);
            foreach (var t in trained) t.Dispose();
        }
        return sums;
    }

    static double[] Normalized(nn.Module<Tensor, Tensor> model, Tensor z, double[] frequencies, double[] amplitudes)
    {
        var a = Amplitudes(model, z, frequencies);
        return a.Select((v, i) => v / amplitudes[i]).ToArray();
    }

    static double[] Amplitudes(nn.Module<Tensor, Tensor> model, Tensor z, IReadOnlyList<double> frequencies)
    {
        using var noGrad = torch.no_grad();
        using var f = model.call(z);
        return SpectralAmplitudes.Of(f, frequencies);
    }

    /// <summary>An embedded grid: one row [d] per grid point, as float32.</summary>
    internal static Tensor Embedded(Tensor embedded, long points)
    {
        if (embedded.dim() != 2 || embedded.shape[0] != points)
            throw new ArgumentException($"embedded must be [N, d] with one row per grid point (N = {points}); got [{string.Join(", ", embedded.shape)}].", nameof(embedded));
        return embedded.to_type(ScalarType.Float32, copy: true); // a copy: Train disposes its input
    }

    /// <summary>The regression input as [N, 1]; a multi-dimensional input is an error (the spectra are of functions of one variable).</summary>
    static Tensor Inputs(Tensor z) => SpectralAmplitudes.OneDimensional(z, nameof(z)).to_type(ScalarType.Float32).unsqueeze(1);
}
