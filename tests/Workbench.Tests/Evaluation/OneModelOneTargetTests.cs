using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using Workbench.Runtime;
using Workbench.Tests.Attribution;
using static TorchSharp.torch;

namespace Workbench.Tests.Evaluation;

/// <summary>Methods and metrics take the same model (a module, or a function as an <see cref="AttributionModel"/>) and the same target (a label tensor).</summary>
public class OneModelOneTargetTests
{
    public OneModelOneTargetTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void A_label_tensor_and_a_module_are_accepted_by_methods_and_metrics_alike()
    {
        using var model = Nets.Cnn(seed: 3);
        using var x = Nets.Inputs(new long[] { 4, 1, 8, 8 }, seed: 4, 0, 1);
        using var labels = torch.tensor(new long[] { 0, 1, 2, 1 });
        using var byTensor = new Saliency(model).Attribute(x, labels);
        using var byTarget = new Saliency(model).Attribute(x, Target.PerExample(labels));
        Assert.True(byTensor.Map.allclose(byTarget.Map, 0, 0));

        var viaModule = DeletionInsertion.Evaluate(model, x, labels, byTensor.Map);
        var viaFunction = DeletionInsertion.Evaluate(new AttributionModel(model.call, "cnn as a function"), x, labels, byTensor.Map);
        Assert.Equal(viaModule.Deletion.PerSample, viaFunction.Deletion.PerSample);
        Assert.Equal(Axioms.Completeness(model, x, labels, byTensor.Map).PerSample,
            Axioms.Completeness(new AttributionModel(model.call), x, labels, byTensor.Map).PerSample);
        // A float tensor is not a label tensor: refused with the argument named, not truncated.
        using var floats = torch.tensor(new float[] { 0, 1, 2, 1 });
        Assert.Contains("integer", Assert.Throws<ArgumentException>(() => new Saliency(model).Attribute(x, floats)).Message);
    }
}
