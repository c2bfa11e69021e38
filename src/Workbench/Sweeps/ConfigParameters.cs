using System.Globalization;
using System.Reflection;

namespace Workbench.Sweeps;

/// <summary>
/// `--param Name=Value` on an experiment's config record: sets one init-only property of a copy of the record (a dotted name
/// reaches into a nested record, e.g. <c>Training.Epochs=1</c>). Numbers, booleans, enums (by name, any case, dashes
/// ignored) and comma-separated lists of them; anything else, or an unknown name, is a <see cref="SweepInputException"/>
/// naming the known parameters.
/// </summary>
public static class ConfigParameters
{
    public static T Apply<T>(T config, IReadOnlyDictionary<string, string> parameters) where T : class
    {
        object current = config;
        foreach (var (name, value) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal)) current = Set(current, name.Split('.'), value, name);
        return (T)current;
    }

    /// <summary>The parameters a record accepts (settable properties of supported types), for messages and help.</summary>
    public static IReadOnlyList<string> Names(Type type) => Settable(type).Select(p => p.Name).Order(StringComparer.Ordinal).ToList();

    static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0);

    static object Set(object target, string[] path, string value, string fullName)
    {
        var type = target.GetType();
        var property = Settable(type).FirstOrDefault(p => string.Equals(p.Name, path[0], StringComparison.OrdinalIgnoreCase))
            ?? throw new SweepInputException($"unknown parameter '{fullName}' for {type.Name}; expected one of {string.Join(", ", Names(type))}");
        var copy = Clone(target);
        object? newValue;
        if (path.Length > 1)
        {
            var inner = property.GetValue(target)
                ?? throw new SweepInputException($"parameter '{fullName}': {type.Name}.{property.Name} is not set, so it has no '{path[1]}' to change");
            newValue = Set(inner, path[1..], value, fullName);
        }
        else newValue = Parse(property.PropertyType, value, fullName);
        property.SetValue(copy, newValue);
        return copy;
    }

    // A record's copy constructor, as `with` uses it.
    static object Clone(object record)
    {
        var clone = record.GetType().GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance)
            ?? throw new SweepInputException($"{record.GetType().Name} is not a record; its parameters cannot be set");
        return clone.Invoke(record, null)!;
    }

    static object? Parse(Type type, string text, string name)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null) return text.Trim().Equals("null", StringComparison.OrdinalIgnoreCase) ? null : Parse(underlying, text, name);
        if (type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(IReadOnlyList<>) || g == typeof(IList<>) || g == typeof(IEnumerable<>)))
        {
            var element = type.GetGenericArguments()[0];
            var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) throw new SweepInputException($"parameter '{name}' expects a comma-separated list of {element.Name}, got '{text}'");
            var array = Array.CreateInstance(element, parts.Length);
            for (int i = 0; i < parts.Length; i++) array.SetValue(Parse(element, parts[i], name), i);
            return array;
        }
        var inv = CultureInfo.InvariantCulture;
        object? parsed = type switch
        {
            _ when type == typeof(int) => int.TryParse(text, NumberStyles.Integer, inv, out var i) ? i : null,
            _ when type == typeof(long) => long.TryParse(text, NumberStyles.Integer, inv, out var l) ? l : null,
            _ when type == typeof(double) => double.TryParse(text, NumberStyles.Float, inv, out var d) && !double.IsNaN(d) ? d : null,
            _ when type == typeof(bool) => bool.TryParse(text, out var b) ? b : null,
            _ when type == typeof(string) => text,
            _ when type.IsEnum => Enum.GetNames(type).FirstOrDefault(n => string.Equals(n, text.Replace("-", ""), StringComparison.OrdinalIgnoreCase)) is { } n
                ? Enum.Parse(type, n) : null,
            _ => throw new SweepInputException($"parameter '{name}' is a {type.Name}, which cannot be set from the command line; set its parts (e.g. '{name}.<Property>=...')"),
        };
        return parsed ?? throw new SweepInputException($"parameter '{name}' expects a {(type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}" : type.Name)}, got '{text}'");
    }
}
