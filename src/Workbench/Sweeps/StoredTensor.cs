using static TorchSharp.torch;

namespace Workbench.Sweeps;

/// <summary>
/// A float tensor as plain arrays (shape and values, row-major), so a unit's result can carry the maps a figure needs
/// through JSON and back bit for bit (System.Text.Json writes floats in their shortest round-trip form).
/// </summary>
public sealed record StoredTensor(long[] Shape, float[] Values)
{
    public static StoredTensor Of(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var cpu = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return new StoredTensor(cpu.shape, cpu.data<float>().ToArray());
    }

    public Tensor ToTensor()
    {
        long count = Shape.Aggregate(1L, (a, b) => a * b);
        if (count != Values.Length)
            throw new InvalidDataException($"A stored tensor of shape [{string.Join(", ", Shape)}] needs {count} values; it holds {Values.Length}.");
        return tensor(Values, Shape);
    }
}
