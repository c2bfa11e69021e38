using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Forward hooks that are always removed (dispose the scope) and that count how often each hooked
/// module fired, for the audit: a module a rule must see that did not fire (the model bypassed
/// <c>call()</c>) or fired more often than expected (a module reused) makes a wrong map, so it is an
/// error naming the module.
/// </summary>
public sealed class HookScope : IDisposable
{
    readonly List<Action> _removers = new();
    readonly Dictionary<string, int> _fired = new();

    /// <summary>
    /// Hooks <paramref name="module"/>; <paramref name="hook"/> gets (input, output) and returns the
    /// output to use. Hooks on one module fire in the order they were added, across scopes (a method's
    /// rule, then a tap added later sees the rule's output).
    /// </summary>
    public void Add(string name, nn.Module<Tensor, Tensor> module, Func<Tensor, Tensor, Tensor> hook)
    {
        _fired[name] = 0;
        _removers.Add(OrderedHooks.For(module).AddPost((input, output) =>
        {
            _fired[name]++;
            return hook(input, output);
        }));
    }

    /// <summary>Hooks <paramref name="module"/> before it runs; <paramref name="hook"/> gets its input and returns the input to use (in the order added, as <see cref="Add"/>).</summary>
    public void AddPre(string name, nn.Module<Tensor, Tensor> module, Func<Tensor, Tensor> hook)
    {
        _fired[name] = 0;
        _removers.Add(OrderedHooks.For(module).AddPre(input =>
        {
            _fired[name]++;
            return hook(input);
        }));
    }

    /// <summary>
    /// One TorchSharp hook per module that runs the module's hooks in the order they were added.
    /// TorchSharp keeps a module's hooks in a dictionary, whose enumeration order is not the order of
    /// addition once hooks have been removed; rules and taps on one module depend on that order.
    /// </summary>
    sealed class OrderedHooks
    {
        static readonly System.Runtime.CompilerServices.ConditionalWeakTable<nn.Module, OrderedHooks> All = new();
        readonly nn.Module<Tensor, Tensor> _module;
        readonly Chain<Func<Tensor, Tensor, Tensor>> _post = new();
        readonly Chain<Func<Tensor, Tensor>> _pre = new();

        OrderedHooks(nn.Module<Tensor, Tensor> module) => _module = module;

        public static OrderedHooks For(nn.Module<Tensor, Tensor> module) => All.GetValue(module, m => new OrderedHooks((nn.Module<Tensor, Tensor>)m));

        public Action AddPost(Func<Tensor, Tensor, Tensor> hook) => _post.Add(hook, () => _module.register_forward_hook((m, input, output) =>
        {
            foreach (var h in _post.Snapshot()) output = h(input, output);
            return output;
        }).remove);

        public Action AddPre(Func<Tensor, Tensor> hook) => _pre.Add(hook, () => _module.register_forward_pre_hook((m, input) =>
        {
            foreach (var h in _pre.Snapshot()) input = h(input);
            return input;
        }).remove);
    }

    /// <summary>Hooks in the order added; one TorchSharp hook installed while the chain is not empty.</summary>
    sealed class Chain<T> where T : Delegate
    {
        readonly List<T> _hooks = new();
        Action? _remove;

        public T[] Snapshot()
        {
            lock (_hooks) return _hooks.ToArray();
        }

        /// <summary>Adds <paramref name="hook"/> (installing the chain's TorchSharp hook with <paramref name="install"/> if it is the first); returns its remover.</summary>
        public Action Add(T hook, Func<Action> install)
        {
            lock (_hooks)
            {
                if (_hooks.Count == 0) _remove = install();
                _hooks.Add(hook);
            }
            return () =>
            {
                lock (_hooks)
                {
                    if (!_hooks.Remove(hook) || _hooks.Count > 0) return;
                    _remove?.Invoke();
                    _remove = null;
                }
            };
        }
    }

    public IReadOnlyDictionary<string, int> Fired => _fired;

    public void ResetCounts()
    {
        foreach (var k in _fired.Keys.ToList()) _fired[k] = 0;
    }

    /// <summary>Throws naming every hooked module that did not fire exactly <paramref name="expected"/> times since the last reset.</summary>
    public void Audit(string method, int expected = 1)
    {
        var wrong = _fired.Where(kv => kv.Value != expected).ToList();
        if (wrong.Count == 0) return;
        throw new InvalidOperationException(
            $"{method}: {string.Join("; ", wrong.Select(kv => $"module '{kv.Key}' fired {kv.Value} times"))} during one forward pass; expected {expected}. " +
            "Each hooked module must be invoked exactly once through call() (not forward(), and not reused), or its rule is silently skipped or applied twice.");
    }

    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
    }

    /// <summary>The named submodules of <paramref name="model"/> that are leaves of the given types.</summary>
    public static IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> Leaves(nn.Module model, Func<nn.Module, bool> select) =>
        model.named_modules()
            .Where(m => m.name.Length > 0 && !m.module.named_children().Any() && select(m.module))
            .Select(m => (m.name, m.module as nn.Module<Tensor, Tensor>
                ?? throw new InvalidOperationException($"module '{m.name}' ({m.module.GetType().Name}) cannot be hooked: it is not a Module<Tensor, Tensor>.")));

    /// <summary>The named submodule, or an error listing the names that exist.</summary>
    public static nn.Module<Tensor, Tensor> Layer(nn.Module model, string name)
    {
        foreach (var (n, m) in model.named_modules())
            if (n == name && n.Length > 0)
                return m as nn.Module<Tensor, Tensor> ?? throw new ArgumentException($"layer '{name}' is a {m.GetType().Name}, not a Module<Tensor, Tensor>.", "layer");
        throw new ArgumentException($"layer '{name}' not found; the model's layers are: {string.Join(", ", model.named_modules().Select(m => m.name).Where(n => n.Length > 0))}.", "layer");
    }

    public static bool IsActivation(nn.Module m) => m is TorchSharp.Modules.ReLU or TorchSharp.Modules.Softplus or TorchSharp.Modules.LeakyReLU
        or TorchSharp.Modules.ELU or TorchSharp.Modules.Tanh or TorchSharp.Modules.Sigmoid or TorchSharp.Modules.GELU or TorchSharp.Modules.SiLU;
}

/// <summary>
/// A custom autograd node that leaves the forward value alone and replaces the backward pass of
/// one module by a rule: <c>grad_input = rule(input, output, grad_output)</c>. TorchSharp has no
/// backward hooks, so guided backprop, deconvnet, DeepLIFT and LRP install it from a forward hook.
/// </summary>
public sealed class ModifiedGradient : autograd.SingleTensorFunction<ModifiedGradient>
{
    public delegate Tensor Rule(Tensor input, Tensor output, Tensor gradOutput);

    sealed class Payload(Tensor output, Rule rule)
    {
        public Tensor Output { get; } = output;
        public Rule Rule { get; } = rule;
    }

    public override string Name => "ModifiedGradient";

    /// <summary>Returns a tensor equal to <paramref name="output"/> whose gradient flows to <paramref name="input"/> through <paramref name="rule"/>.</summary>
    public static Tensor Replace(Tensor input, Tensor output, Rule rule) => apply(input, new Payload(output.detach(), rule));

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var payload = (Payload)vars[1];
        ctx.save_for_backward(new List<Tensor> { input.detach() });
        ctx.save_data("payload", payload);
        // The detached output itself, not a copy: autograd attaches this node to it, and nothing else holds it.
        return payload.Output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var input = ctx.get_saved_variables()[0];
        var payload = (Payload)ctx.get_data("payload");
        using var noGrad = torch.no_grad();
        // One gradient per forward argument; the payload (not a tensor) gets none.
        return new List<Tensor> { payload.Rule(input, payload.Output, gradOutput), null! };
    }
}
