using TorchSharp;

namespace Workbench.Models;

/// <summary>Layers by dotted name ("conv2", "stage3.block1.act2") for Grad-CAM, TCAV and knowledge consistency.</summary>
public static class LayerNames
{
    public static IReadOnlyList<string> Of(torch.nn.Module model) =>
        model.named_modules().Select(m => m.name).Where(n => n.Length > 0).ToList();

    public static torch.nn.Module Find(torch.nn.Module model, string name)
    {
        foreach (var (n, m) in model.named_modules())
            if (n == name && n.Length > 0) return m;
        throw new ArgumentException($"layer '{name}' not found; the model's layers are: {string.Join(", ", Of(model))}.", nameof(name));
    }
}
