using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Workbench.Cli.Commands;

/// <summary>`workbench docs api`: the library's API reference in Markdown, generated from its XML documentation.</summary>
public sealed class DocsApiCommand : CliCommand
{
    public override string Name => "docs api";
    public override string Summary => "Write the library's API reference (Markdown, from the XML docs)";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("output", "The Markdown file to write", "path", "docs/api.md"),
    ];

    public override int Execute(CliArgs args)
    {
        var output = Path.GetFullPath(args.Get("output", "docs/api.md"));
        var assembly = typeof(Workbench.Models.ModelSpec).Assembly;
        var xml = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(xml)) throw new FileNotFoundException($"the library's XML documentation '{xml}' is missing; build with GenerateDocumentationFile (the Workbench project sets it).");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        Workbench.Runtime.AtomicFile.WriteAllText(output, Render(assembly, XDocument.Load(xml)));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary>One section per namespace, one entry per public type with its summary, then its documented public members.</summary>
    public static string Render(Assembly assembly, XDocument docs)
    {
        var members = docs.Descendants("member").Where(m => m.Attribute("name") is not null)
            .ToDictionary(m => m.Attribute("name")!.Value, m => Text(m.Element("summary")));
        var sb = new StringBuilder("# Workbench API reference\n\nGenerated from the XML documentation by `./workbench docs api`; " +
            "regenerate it after changing a public API.\n");
        foreach (var ns in assembly.GetExportedTypes().Where(t => t.Namespace is not null && !t.IsNested || t.IsNestedPublic && t.DeclaringType!.IsPublic)
                     .GroupBy(t => t.Namespace!).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append($"\n## {ns.Key}\n");
            foreach (var type in ns.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                string id = type.FullName!.Replace('+', '.');
                sb.Append($"\n### `{Readable(type)}`\n");
                var summary = members.GetValueOrDefault("T:" + id, "");
                if (summary.Length > 0) sb.Append($"\n{summary}\n");
                var own = members.Where(m => m.Key.Length > 2 && m.Key[1] == ':' && m.Key[0] is 'M' or 'P' or 'F' or 'E'
                        && Owner(m.Key[2..]) == id && m.Value.Length > 0 && !(m.Key.Contains("#ctor") && m.Value == summary)) // a record's constructor repeats the type's summary
                    .OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
                if (own.Count > 0) sb.Append('\n');
                foreach (var (key, text) in own) sb.Append($"- `{Signature(key)}`: {text}\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>The type a member ID belongs to: "Ns.Type.Method(Args)" → "Ns.Type".</summary>
    static string Owner(string member)
    {
        var name = member.Split('(')[0];
        int dot = name.LastIndexOf('.');
        return dot < 0 ? "" : name[..dot];
    }

    /// <summary>"M:Ns.Type.Evaluate(TorchSharp.torch.Tensor,System.Int32)" → "Evaluate(Tensor, Int32)"; constructors read "new(...)".</summary>
    static string Signature(string key)
    {
        var body = key[2..];
        var paren = body.IndexOf('(');
        var name = paren < 0 ? body : body[..paren];
        name = name[(name.LastIndexOf('.') + 1)..].Replace("#ctor", "new");
        name = Regex.Replace(name, "``\\d+", "");
        if (paren < 0) return name;
        var args = body[(paren + 1)..^1];
        var simple = Regex.Replace(args, @"[A-Za-z_][A-Za-z0-9_]*\.", "").Replace("{", "<").Replace("}", ">").Replace("``0", "T").Replace("`0", "T").Replace(",", ", ");
        return $"{name}({simple})";
    }

    static string Readable(Type t)
    {
        var name = t.Name.Split('`')[0];
        return t.IsGenericType ? $"{name}<{string.Join(", ", t.GetGenericArguments().Select(a => a.Name))}>" : name;
    }

    /// <summary>A summary as one line of Markdown: cref and paramref names kept, whitespace collapsed.</summary>
    static string Text(XElement? summary)
    {
        if (summary is null) return "";
        var sb = new StringBuilder();
        foreach (var node in summary.Nodes())
            sb.Append(node switch
            {
                XText text => text.Value,
                XElement { Name.LocalName: "see" } e => $"`{(e.Attribute("cref")?.Value ?? e.Attribute("langword")?.Value ?? "").Split(':').Last().Split('.').Last()}`",
                XElement { Name.LocalName: "paramref" or "typeparamref" } e => $"`{e.Attribute("name")?.Value}`",
                XElement { Name.LocalName: "c" } e => $"`{e.Value}`",
                XElement e => e.Value,
                _ => "",
            });
        return Regex.Replace(sb.ToString(), @"\s+", " ").Trim();
    }
}
