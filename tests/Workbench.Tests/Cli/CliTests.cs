using Workbench.Cli;

namespace Workbench.Tests.Cli;

public class CliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Unknown_command_is_a_usage_error()
    {
        var r = Run("frobnicate");
        Assert.Equal(2, r.Code);
        Assert.Contains("unknown command 'frobnicate'", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void Unknown_option_is_a_one_line_usage_error()
    {
        var r = Run("train", "--epochz", "1");
        Assert.Equal(2, r.Code);
        Assert.Contains("unknown option '--epochz'", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--epochs", "zero", "expects an integer")]
    [InlineData("--epochs", "0", "expects a value in [1,")]
    [InlineData("--optimizer", "rmsprop", "expects one of adam, sgd")]
    [InlineData("--lr", "fast", "expects a number")]
    public void Bad_values_are_usage_errors_naming_the_option(string option, string value, string message)
    {
        var r = Run("train", option, value);
        Assert.Equal(2, r.Code);
        Assert.Contains(option, r.Err);
        Assert.Contains(message, r.Err);
    }

    [Fact]
    public void Bad_dataset_or_model_name_is_a_usage_error()
    {
        Assert.Equal(2, Run("train", "--dataset", "cifar").Code);
        Assert.Equal(2, Run("train", "--model", "vgg").Code);
    }

    [Fact]
    public void Help_exists_for_every_command()
    {
        Assert.Equal(0, Run("--help").Code);
        foreach (var c in CliApp.Commands)
        {
            var r = Run([.. c.Name.Split(' '), "--help"]);
            Assert.Equal(0, r.Code);
            Assert.Contains($"workbench {c.Name}", r.Out);
        }
    }
}
