using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>
/// A content hash of a dataset for cache keys: SHA-256 over the shape, the labels and a fixed random
/// projection of every example (computed in float64 and rounded, so thread count and summation
/// order do not change it). Any changed pixel or label changes the fingerprint (with probability 1).
/// </summary>
public static class DatasetFingerprint
{
    public static string Of(TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var scope = torch.NewDisposeScope();
        var x = data.Inputs.to(torch.CPU).to_type(ScalarType.Float64).reshape(data.Count, -1);
        using var generator = new torch.Generator(20240521);
        var projection = torch.rand(new long[] { x.shape[1], 4 }, ScalarType.Float64, generator: generator);
        var projected = x.matmul(projection).mul(1e6).round().to_type(ScalarType.Int64).contiguous();
        var labels = data.Labels.to(torch.CPU).to_type(ScalarType.Int64).contiguous();

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(string.Join(",", data.Inputs.shape)));
        sha.AppendData(MemoryMarshalBytes(projected.data<long>().ToArray()));
        sha.AppendData(MemoryMarshalBytes(labels.data<long>().ToArray()));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    static byte[] MemoryMarshalBytes(long[] values)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
