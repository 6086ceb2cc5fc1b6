using ChatStats.Bot.Cli;
using ChatStats.Bot.Data;

DatabaseExtensions.ResolveMigrationsAssembly();
return await ChatStatsCli.Build().Parse(args).InvokeAsync();
