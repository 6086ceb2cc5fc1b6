using System.CommandLine;
using ChatStats.Bot.Data;
using Microsoft.Extensions.Options;
using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Cli;

/// <summary>The verbs of the <c>chatstats</c> executable.</summary>
internal static partial class ChatStatsCli
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
                // Settings checked before the host starts: a bad one is then one clear line (RunGuardedAsync), not also the
                // host's own start-up failure logged with its stack trace.
                host.Services.GetService<IStartupValidator>()?.Validate();
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
                : $"Applied {Terminal.Count(applied.Count, "migration")} to {Configuration.DatabaseUrl.Describe(options.ConnectionString)}: {string.Join(", ", applied)}");
            // Hangfire's tables (schema hangfire), then the jobs the old queue still had waiting: the database is complete.
            Jobs.JobsSchema.Install(host.Services.GetRequiredService<Jobs.JobsDataSource>());
            var carried = await host.Services.GetRequiredService<Reports.LegacyJobs>().CarryAsync(ct);
            Console.WriteLine(carried == 0 ? "Hangfire's schema is in place." : $"Hangfire's schema is in place; {Terminal.Count(carried, "job")} carried over from the old job queue.");
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// A setting the configuration binder could not convert ("abc" for a number, a number too large for its type), said
    /// as the key, the value and what it must be; null for any other failure.
    /// </summary>
    internal static string? ConfigurationValue(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (BinderFailure().Match(e.Message) is { Success: true } m)
            {
                var wanted = m.Groups["type"].Value switch
                {
                    "System.Int32" => "a whole number in the range the setting takes",
                    "System.Int64" => "a whole number",
                    "System.Double" or "System.Decimal" or "System.Single" => "a number, with a dot for decimals",
                    "System.Boolean" => "true or false",
                    "System.TimeSpan" => "a duration such as 00:00:30",
                    var type => $"a value of type {type.Split('.')[^1]}",
                };
                return $"{m.Groups["key"].Value}: '{m.Groups["value"].Value}' is not {wanted}.";
            }
        }
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex BinderFailure();

    /// <summary>Says on stderr that a chat id names no chat, and how to find the ids that do.</summary>
    internal static Task NoSuchChatAsync(long chatId) =>
        Console.Error.WriteLineAsync($"chatstats: no chat {chatId} in the database. Chat ids of groups are negative; 'SELECT id, title FROM chats' lists them.");

    /// <summary>Which of the file kinds an --out path ends in (<paramref name="kinds"/>, e.g. ".pdf"); null, said on stderr, for none of them.</summary>
    internal static async Task<string?> OutputFormatAsync(string path, params string[] kinds)
    {
        if (kinds.FirstOrDefault(kind => path.EndsWith(kind, StringComparison.OrdinalIgnoreCase)) is { } kind)
        {
            return kind;
        }
        await Console.Error.WriteLineAsync($"chatstats: --out must end in {string.Join(" or ", kinds)} (got {path}).");
        return null;
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
        catch (InvalidOperationException ex) when (ConfigurationValue(ex) is { } bad)
        {
            await Console.Error.WriteLineAsync($"chatstats: configuration error: {bad}");
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
