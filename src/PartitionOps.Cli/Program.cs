return await PartitionOps.Cli.CliApp.MainAsync(args);
