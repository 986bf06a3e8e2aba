return await Bruno.Cli.BrunoCli.RunAsync(args);
