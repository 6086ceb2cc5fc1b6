using System.CommandLine;
using ChatStats.Bot.Data;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Cli;

/// <summary>The verbs of the <c>chatstats</c> executable.</summary>
internal static class ChatStatsCli
{
    public const int ConfigurationExitCode = 2;

    public static RootCommand Build()
    {
        var root = new RootCommand("ChatStats: records Telegram group chats and answers with statistics.");
        root.Subcommands.Add(Role("run", "Run the bot, the job workers and the web role in one process.", new RoleSet(Bot: true, Web: true, Worker: true)));
        root.Subcommands.Add(Role("bot", "Run the poller and command handlers only.", new RoleSet(Bot: true, Web: false)));
        root.Subcommands.Add(Role("worker", "Run the job workers (reports, digests, purges) only.", new RoleSet(Bot: false, Web: false, Worker: true)));
        root.Subcommands.Add(Role("web", "Run /health, /metrics, /api and the dashboards only.", new RoleSet(Bot: false, Web: true)));
        root.Subcommands.Add(MigrateCommand());
        root.Subcommands.Add(DoctorCommand.Build());
        root.Subcommands.Add(StatsCliCommand.Build());
        root.Subcommands.Add(TierCliCommand.Build());
        root.Subcommands.Add(StatsCliCommand.BuildChart());
        root.Subcommands.Add(ImportCliCommand.Build());
        root.Subcommands.Add(ReportCliCommand.Build());
        return root;
    }

    private static Command Role(string name, string description, RoleSet roles)
    {
        var command = new Command(name, description);
        command.SetAction(async (parse, ct) =>
        {
            return await RunGuardedAsync(async () =>
            {
                using var host = AppHost.Build(roles, []);
                await host.RunAsync(ct);
                return Environment.ExitCode;
            });
        });
        return command;
    }

    private static Command MigrateCommand()
    {
        var command = new Command("migrate", "Apply pending database migrations (the same ones 'dotnet ef database update' applies).");
        command.SetAction(async (parse, ct) => await RunGuardedAsync(async () =>
        {
            using var host = AppHost.BuildTool([]);
            var migrator = host.Services.GetRequiredService<DatabaseMigrator>();
            var options = host.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var applied = await migrator.MigrateAsync(ct);
            Console.WriteLine(applied.Count == 0
                ? $"Database {Configuration.DatabaseUrl.Describe(options.ConnectionString)} is up to date."
                : $"Applied {applied.Count} migration(s) to {Configuration.DatabaseUrl.Describe(options.ConnectionString)}: {string.Join(", ", applied)}");
            // Hangfire's tables (schema hangfire), then the jobs the old queue still had waiting: the database is complete.
            await Jobs.JobsSchema.InstallAsync(host.Services.GetRequiredService<Jobs.JobsDataSource>(), ct);
            var carried = await host.Services.GetRequiredService<Jobs.LegacyJobs>().CarryAsync(ct);
            Console.WriteLine(carried == 0 ? "Hangfire's schema is in place." : $"Hangfire's schema is in place; {carried} job(s) carried over from the old job queue.");
            return 0;
        }));
        return command;
    }

    /// <summary>Turns the failures an operator can fix into one clear line each and a non-zero exit code.</summary>
    public static async Task<int> RunGuardedAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures)
            {
                await Console.Error.WriteLineAsync($"chatstats: configuration error: {failure}");
            }
            return ConfigurationExitCode;
        }
        catch (Npgsql.NpgsqlException ex)
        {
            await Console.Error.WriteLineAsync($"chatstats: database error: {ex.Message}. Check Database:ConnectionString / DATABASE_URL and that PostgreSQL is running ('chatstats doctor' checks it).");
            return 1;
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains(DatabaseExtensions.MigrationsAssembly, StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"chatstats: {ex.Message}");
            return 1;
        }
    }
}
