using Workbench.Concepts;

namespace Workbench.Experiments.ConceptEffects;

/// <summary>The argument checks both E6 configurations (BARS and Colored-MNIST) share: sizes, TCAV's sets and the CVAE.</summary>
static class ConceptConfigChecks
{
    public static void Check(bool ok, string name, string expected, object actual)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, actual, $"{name} must be {expected}; got {actual}.");
    }

    public static void Estimators(int trainImages, int testImages, int epochs, int tcavClassInputs, int conceptExamples, int randomSets, int cvaeImages,
        TcavSignificanceOptions tcav, CvaeOptions cvae)
    {
        Check(trainImages >= 10, "TrainImages", ">= 10", trainImages);
        Check(testImages >= 10, "TestImages", ">= 10", testImages);
        Check(epochs >= 1, "Epochs", ">= 1", epochs);
        Check(tcavClassInputs >= 1, "TcavClassInputs", ">= 1", tcavClassInputs);
        Check(conceptExamples >= 2, "ConceptExamples", ">= 2 (a CAV needs two examples per set)", conceptExamples);
        Check(randomSets >= 2, "RandomSets", ">= 2 (the t-test needs two scores per group)", randomSets);
        Check(cvaeImages >= 2, "CvaeImages", ">= 2", cvaeImages);
        tcav.Validate();
        cvae.Validate();
    }
}
