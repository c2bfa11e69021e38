using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Models;

/// <summary>
/// Puts the modules behind a model into eval mode for the length of a scope and then gives every
/// submodule back its own mode (not <c>train()</c> on the whole model, which would flip a submodule the
/// caller had frozen in eval). Evaluation must not run a model in training mode: dropout makes the
/// scores random and batch norm updates its running statistics, changing the model.
/// <para>
/// For a <see cref="Func{Tensor, Tensor}"/> the modules are found where C# puts them: the delegate's
/// target (<c>model.call</c>) or the fields of the lambda's closure (<c>t =&gt; model.call(t.flatten(1))</c>,
/// nested closures included). A function that reaches its model any other way (through a wrapper
/// object, a static field, a notebook lambda over a script variable) cannot be switched: pass
/// <c>model.call</c> or put that model in eval mode yourself.
/// </para>
/// Not for concurrent use on one model: two scopes on the same model from two threads restore each other's modes.
/// </summary>
public sealed class EvalMode : IDisposable
{
    readonly List<(nn.Module Module, bool Training)> _saved = new();

    /// <summary>The modules that were in training mode and were switched to eval for the scope.</summary>
    public int Switched { get; }

    EvalMode(IEnumerable<nn.Module> roots)
    {
        foreach (var root in roots.Distinct(ReferenceEqualityComparer.Instance).Cast<nn.Module>())
        {
            // Parents before children (the root, then by the depth of the dotted name): restoring in this order
            // sets each submodule after its parent's recursive train().
            var all = new[] { root }.Concat(root.named_modules()
                    .Where(m => m.name.Length > 0).OrderBy(m => m.name.Count(c => c == '.')).Select(m => m.module))
                .Distinct(ReferenceEqualityComparer.Instance).Cast<nn.Module>().ToList();
            if (!all.Any(m => m.training)) continue;
            _saved.AddRange(all.Select(m => (m, m.training)));
            Switched += all.Count(m => m.training);
            root.eval();
        }
    }

    public static EvalMode Enter(nn.Module module) => new([module ?? throw new ArgumentNullException(nameof(module))]);

    public static EvalMode Enter(Delegate model) => new(ModulesBehind(model ?? throw new ArgumentNullException(nameof(model))));

    public void Dispose()
    {
        foreach (var (module, training) in _saved) module.train(training);
        _saved.Clear();
    }

    /// <summary>The modules a delegate calls: its target, or modules held by its closure (two levels of nesting).</summary>
    public static IReadOnlyList<nn.Module> ModulesBehind(Delegate model)
    {
        var found = new List<nn.Module>();
        void Scan(object? target, int depth)
        {
            switch (target)
            {
                case null: return;
                case nn.Module m: found.Add(m); return;
                case Delegate d when depth <= 2: foreach (var inner in d.GetInvocationList()) Scan(inner.Target, depth + 1); return;
            }
            var type = target.GetType();
            if (depth > 2 || !type.IsDefined(typeof(CompilerGeneratedAttribute), false)) return;
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
                Scan(field.GetValue(target), depth + 1);
        }
        foreach (var d in model.GetInvocationList()) Scan(d.Target, 0);
        return found;
    }
}
