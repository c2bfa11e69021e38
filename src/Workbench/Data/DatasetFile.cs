using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>
/// The compact cache form of an image dataset: magic, shape, uint8 pixels, uint8 labels, and the
/// SHA-256 of all of it. Read back in one pass (both datasets in well under 2 s); a file written
/// half-way or corrupted fails the length or hash check and is rebuilt by <see cref="DatasetStore"/>.
/// Written atomically (<see cref="Runtime.AtomicFile"/>).
/// </summary>
public static class DatasetFile
{
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("WBDS0001");
    const int HeaderInts = 5; // n, c, h, w, classes

    public static void Write(string path, byte[] pixels, byte[] labels, int channels, int height, int width, int classes)
    {
        int n = labels.Length;
        if ((long)n * channels * height * width != pixels.Length)
            throw new ArgumentException($"pixels must hold {n}x{channels}x{height}x{width} = {(long)n * channels * height * width} bytes; got {pixels.Length}.", nameof(pixels));
        Runtime.AtomicFile.Write(path, file =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes) { file.Write(bytes); hash.AppendData(bytes); }
            Put(Magic);
            foreach (var v in new[] { n, channels, height, width, classes }) Put(BitConverter.GetBytes(v));
            Put(pixels);
            Put(labels);
            file.Write(hash.GetHashAndReset());
        });
    }

    /// <summary>Reads a dataset written by <see cref="Write"/>; throws <see cref="InvalidDataException"/> naming the file when it is not intact.</summary>
    public static TensorDataset Read(string path, string name)
    {
        var all = File.ReadAllBytes(path);
        int header = Magic.Length + HeaderInts * sizeof(int);
        if (all.Length < header + 32 || !all.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a Workbench dataset file (bad header).");
        int Int(int i) => BitConverter.ToInt32(all, Magic.Length + i * sizeof(int));
        int n = Int(0), c = Int(1), h = Int(2), w = Int(3), classes = Int(4);
        long pixels = (long)n * c * h * w;
        if (n < 0 || c < 1 || h < 1 || w < 1 || header + pixels + n + 32 != all.Length)
            throw new InvalidDataException($"'{path}' is truncated or malformed: expected {header + pixels + n + 32} bytes for {n}x{c}x{h}x{w}, found {all.Length}.");
        var body = all.AsSpan(0, all.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(all.AsSpan(all.Length - 32)))
            throw new InvalidDataException($"'{path}' is corrupt: its SHA-256 does not match the recorded one.");

        Runtime.TorchRuntime.EnsureLoaded();
        using var pixelBytes = torch.tensor(all.AsSpan(header, (int)pixels).ToArray(), ScalarType.Byte);
        var inputs = pixelBytes.reshape(n, c, h, w).to_type(ScalarType.Float32).div_(255f);
        using var labelBytes = torch.tensor(all.AsSpan(header + (int)pixels, n).ToArray(), ScalarType.Byte);
        var labels = labelBytes.to_type(ScalarType.Int64);
        return new TensorDataset(inputs, labels, name, classes);
    }
}
