using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workbench.Notebooks;

public enum CellKind { Code, Markdown }

/// <summary>One output of a cell, in nbformat 4 terms.</summary>
public sealed record CellOutput(string OutputType, IReadOnlyDictionary<string, string> Data, string? StreamText = null,
    string? ErrorName = null, string? ErrorValue = null, int? ExecutionCount = null, string StreamName = "stdout");

/// <summary>A notebook cell: its kind, source, metadata (kept as JSON) and, after a run, its outputs.</summary>
public sealed class NotebookCell
{
    public NotebookCell(CellKind kind, string source, string id, JsonObject? metadata = null)
    {
        Kind = kind; Source = source; Id = id; Metadata = metadata ?? new JsonObject();
    }

    public CellKind Kind { get; set; }
    public string Source { get; set; }
    public string Id { get; }
    public JsonObject Metadata { get; }
    public List<CellOutput> Outputs { get; } = new();
    public int? ExecutionCount { get; set; }
    public TimeSpan? Duration { get; set; }

    public bool IsParameters => Metadata["tags"] is JsonArray tags && tags.Any(t => t?.GetValue<string>() == "parameters");
    public string FirstLine => Source.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "(empty)";
}

/// <summary>
/// A notebook as VS Code's Polyglot Notebooks writes it (nbformat 4.5, C# cells), read from .ipynb
/// or .dib and written back as .ipynb with outputs.
/// </summary>
public sealed class NotebookDocument
{
    public List<NotebookCell> Cells { get; } = new();
    public JsonObject Metadata { get; private set; } = DefaultMetadata();
    public string Path { get; private set; } = "";

    /// <summary>A new, empty document that will be written to <paramref name="path"/> (its name titles the HTML report).</summary>
    public static NotebookDocument Create(string path) => new() { Path = path };

    public static JsonObject DefaultMetadata() => new()
    {
        ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" },
        ["language_info"] = new JsonObject { ["name"] = "polyglot-notebook" },
        ["polyglot_notebook"] = new JsonObject
        {
            ["kernelInfo"] = new JsonObject
            {
                ["defaultKernelName"] = "csharp",
                ["items"] = new JsonArray(new JsonObject { ["aliases"] = new JsonArray(), ["name"] = "csharp" }),
            },
        },
    };

    public static JsonObject CodeCellMetadata() => new()
    {
        ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" },
        ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" },
    };

    /// <summary>Reads an .ipynb (JSON) or .dib (#!csharp / #!markdown sections) file; errors name the file.</summary>
    public static NotebookDocument Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Notebook '{path}' does not exist.", path);
        string text;
        // Strict UTF-8: an invalid byte is an error naming the file, never a silent U+FFFD that then runs.
        try { text = File.ReadAllText(path, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true)); }
        catch (System.Text.DecoderFallbackException e) { throw new InvalidDataException($"Notebook '{path}' is not valid UTF-8: {e.Message}", e); }
        var doc = path.EndsWith(".dib", StringComparison.OrdinalIgnoreCase) ? ParseDib(text) : ParseIpynb(text, path);
        doc.Path = System.IO.Path.GetFullPath(path);
        return doc;
    }

    static NotebookDocument ParseIpynb(string text, string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException($"Notebook '{path}' is not valid JSON: {e.Message}", e); }
        if (root is not JsonObject obj || obj["cells"] is not JsonArray cells)
            throw new InvalidDataException($"Notebook '{path}' is not an nbformat 4 notebook (no \"cells\" array).");
        var doc = new NotebookDocument();
        if (obj["metadata"] is JsonObject meta) doc.Metadata = (JsonObject)meta.DeepClone();
        int index = 0;
        foreach (var c in cells)
        {
            index++;
            if (c is not JsonObject cell) throw new InvalidDataException($"Notebook '{path}': cell {index} is not an object.");
            var kind = cell["cell_type"]?.GetValue<string>() switch
            {
                "code" => CellKind.Code,
                "markdown" => CellKind.Markdown,
                "raw" => CellKind.Markdown,
                var other => throw new InvalidDataException($"Notebook '{path}': cell {index} has unknown cell_type '{other}'."),
            };
            var source = cell["source"] switch
            {
                JsonArray lines when lines.All(l => l is JsonValue line && line.TryGetValue<string>(out _)) => string.Concat(lines.Select(l => l!.GetValue<string>())),
                JsonArray => throw new InvalidDataException($"Notebook '{path}': cell {index} has source lines that are not text."),
                JsonValue v when v.TryGetValue<string>(out var single) => single,
                JsonValue other => throw new InvalidDataException($"Notebook '{path}': cell {index} has a source that is not text ({other.ToJsonString()})."),
                _ => "",
            };
            var id = cell["id"]?.GetValue<string>() ?? Guid.NewGuid().ToString("N")[..8];
            var metadata = cell["metadata"] is JsonObject m ? (JsonObject)m.DeepClone() : null;
            doc.Cells.Add(new NotebookCell(kind, source, id, metadata));
        }
        return doc;
    }

    static NotebookDocument ParseDib(string text)
    {
        var doc = new NotebookDocument();
        CellKind? kind = null;
        var buffer = new List<string>();
        void Flush()
        {
            var source = string.Join("\n", buffer).Trim('\n');
            if (kind is not null && source.Length > 0)
                doc.Cells.Add(new NotebookCell(kind.Value, source, Guid.NewGuid().ToString("N")[..8], kind == CellKind.Code ? CodeCellMetadata() : null));
            buffer.Clear();
        }
        foreach (var line in text.Replace("\r\n", "\n").Split('\n'))
        {
            var t = line.Trim();
            if (t is "#!csharp" or "#!c#" or "#!markdown" or "#!meta")
            {
                Flush();
                kind = t == "#!markdown" ? CellKind.Markdown : t == "#!meta" ? null : CellKind.Code;
                continue;
            }
            buffer.Add(line);
        }
        Flush();
        return doc;
    }

    /// <summary>nbformat 4.5 JSON with outputs, as VS Code and Jupyter read it.</summary>
    public string ToJson()
    {
        var cells = new JsonArray();
        foreach (var c in Cells)
        {
            var cell = new JsonObject
            {
                ["cell_type"] = c.Kind == CellKind.Code ? "code" : "markdown",
                ["id"] = c.Id,
                ["metadata"] = c.Metadata.DeepClone(),
                ["source"] = SourceLines(c.Source),
            };
            if (c.Kind == CellKind.Code)
            {
                cell["execution_count"] = c.ExecutionCount;
                var outputs = new JsonArray();
                foreach (var o in c.Outputs) outputs.Add(OutputJson(o));
                cell["outputs"] = outputs;
            }
            cells.Add(cell);
        }
        var root = new JsonObject { ["cells"] = cells, ["metadata"] = Metadata.DeepClone(), ["nbformat"] = 4, ["nbformat_minor"] = 5 };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    static JsonArray SourceLines(string source)
    {
        var lines = source.Split('\n');
        var array = new JsonArray();
        for (int i = 0; i < lines.Length; i++) array.Add(i < lines.Length - 1 ? lines[i] + "\n" : lines[i]);
        return array;
    }

    static JsonObject OutputJson(CellOutput o)
    {
        var json = new JsonObject { ["output_type"] = o.OutputType };
        switch (o.OutputType)
        {
            case "stream":
                json["name"] = o.StreamName;
                json["text"] = SourceLines(o.StreamText ?? "");
                break;
            case "error":
                json["ename"] = o.ErrorName;
                json["evalue"] = o.ErrorValue;
                json["traceback"] = new JsonArray();
                break;
            default:
                var data = new JsonObject();
                foreach (var (mime, value) in o.Data) data[mime] = value;
                json["data"] = data;
                json["metadata"] = new JsonObject();
                if (o.OutputType == "execute_result") json["execution_count"] = o.ExecutionCount;
                break;
        }
        return json;
    }
}
