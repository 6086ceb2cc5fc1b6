using Npgsql;

namespace ChatStats.Bot.Data;

/// <summary>
/// Refuses to start a role against a database whose schema is behind (exit code 4, saying to run the migration).
/// An unreachable database is not fatal here: the roles wait for it and catch up.
/// </summary>
internal sealed class SchemaCheck(DatabaseMigrator migrator, IHostApplicationLifetime lifetime, ILogger<SchemaCheck> logger) : IHostedService
{
    public const int SchemaBehindExitCode = 4;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var status = await migrator.GetStatusAsync(cancellationToken);
            if (status.Pending.Count > 0)
            {
                logger.LogCritical("The database schema is {Count} migrations behind ({Pending}). Run 'chatstats migrate' (or deploy/dev.sh migrate) first.",
                    status.Pending.Count, string.Join(", ", status.Pending));
                Environment.ExitCode = SchemaBehindExitCode;
                lifetime.StopApplication();
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.LogWarning("Database not reachable at start ({Error}); continuing, updates will wait for it", ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
