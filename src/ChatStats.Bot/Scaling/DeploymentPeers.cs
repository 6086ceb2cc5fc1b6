using ChatStats.Bot.Data;
using Npgsql;
using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Scaling;

/// <summary>
/// How many instances of the deployment are alive (a heartbeat in the last 45 s, see <see cref="Scaling.InstanceHeartbeat"/>),
/// by what they do: those that answer commands (the bot role) and those that send (bot and worker). While Redis is away,
/// each limit is divided by these, so N processes counting alone still stay under the limit together. Never less than
/// one; read every 10 s; a failed read keeps the last answer.
/// </summary>
internal sealed class DeploymentPeers(NpgsqlDataSource dataSource, RoleSet roles, TimeProvider time, ILogger<DeploymentPeers> logger) : BackgroundService
{
    public static readonly TimeSpan Alive = TimeSpan.FromSeconds(45);
    private volatile int _answering = roles.Bot ? 1 : 0;
    private volatile int _sending = roles.Bot || roles.Worker ? 1 : 0;

    /// <summary>Live instances answering commands (at least one).</summary>
    public int Answering => Math.Max(1, _answering);

    /// <summary>Live instances sending to Telegram (at least one).</summary>
    public int Sending => Math.Max(1, _sending);

    /// <summary>Counts the live heartbeats by role (<see cref="RoleSet"/>'s names: run, bot, worker, or joined with '+').</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT count(*) FILTER (WHERE role = 'run' OR role LIKE '%bot%'),
                   count(*) FILTER (WHERE role = 'run' OR role LIKE '%bot%' OR role LIKE '%worker%')
            FROM instances WHERE heartbeat_at > @since
            """).With("since", time.GetUtcNow() - Alive);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        // This process counts even before its first heartbeat is written.
        _answering = Math.Max((int)reader.GetInt64(0), roles.Bot ? 1 : 0);
        _sending = Math.Max((int)reader.GetInt64(1), roles.Bot || roles.Worker ? 1 : 0);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10), time);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogDebug("Live instances not counted: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
