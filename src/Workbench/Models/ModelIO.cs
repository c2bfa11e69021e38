using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Models;

/// <summary>
/// Saves and loads a module's weights (its state dict, buffers included) in TorchSharp's format,
/// wrapped with a magic string, the payload length and its SHA-256, so a truncated or corrupted
/// file is detected instead of silently loaded. Writes are atomic (<see cref="Runtime.AtomicFile"/>).
/// </summary>
public static class ModelIO
{
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("WBMODEL1");

    public static void Save(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        var payload = new MemoryStream();
        using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true)) module.save(writer);
        var bytes = payload.ToArray();
        Runtime.AtomicFile.Write(path, file =>
        {
            file.Write(Magic);
            file.Write(BitConverter.GetBytes((long)bytes.Length));
            file.Write(SHA256.HashData(bytes));
            file.Write(bytes);
        });
    }

    public static void Load(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        var all = File.ReadAllBytes(path);
        int header = Magic.Length + sizeof(long) + 32;
        if (all.Length < header || !all.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a Workbench model file (bad header).");
        long length = BitConverter.ToInt64(all, Magic.Length);
        if (length != all.Length - header)
            throw new InvalidDataException($"'{path}' is truncated or padded: header says {length} payload bytes, file has {all.Length - header}.");
        var payload = all.AsSpan(header);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(all.AsSpan(Magic.Length + sizeof(long), 32)))
            throw new InvalidDataException($"'{path}' is corrupt: its SHA-256 does not match the recorded one.");
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload.ToArray()));
            module.load(reader, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or NotImplementedException)
        {
            throw new InvalidDataException($"'{path}' does not match the model's architecture: {e.Message}", e);
        }
    }
}
