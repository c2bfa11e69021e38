return Workbench.Cli.CliApp.Run(args);
