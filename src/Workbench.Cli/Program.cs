// OpenMP reads its wait policy once, when libtorch loads: set it before any command touches TorchSharp.
Workbench.Runtime.ThreadPolicy.ApplyBeforeNativeLoad();
return Workbench.Cli.CliApp.Run(args);
