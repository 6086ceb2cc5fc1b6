using System.Net;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Scaling;

/// <summary>
/// Records this process's roles and the poller's state every 15 s and whenever the state (or how limits are shared)
/// changes, so /health/ready of a separate web process can tell whether a bot is polling, and the admin page whether every
/// instance counts its limits in Redis. A missed write is logged and retried; it never stops the role.
/// </summary>
internal sealed class InstanceHeartbeat(NpgsqlDataSource dataSource, IServiceProvider services, RoleSet roles, TimeProvider time, ILogger<InstanceHeartbeat> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private readonly string _id = $"{Dns.GetHostName()}:{Environment.ProcessId}";
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        string? written = null;
        var writtenAt = DateTimeOffset.MinValue;
        do
        {
            var state = services.GetRequiredService<IConfiguration>().UsesWebhook() && roles.Bot ? "Webhook"
                : services.GetService<PollerLeadership>() is { IsStandingBy: true } ? nameof(PollerState.Standby)
                : services.GetService<LongPoller>()?.State.ToString() ?? "none";
            var seen = $"{state}|{services.GetService<SharedLimits>()?.Mode}";
            if (seen == written && time.GetUtcNow() - writtenAt < Interval)
            {
                continue;
            }
            try
            {
                await WriteAsync(state, stoppingToken);
                written = seen;
                writtenAt = time.GetUtcNow();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Heartbeat not written: {Error}", ex.Message);
                writtenAt = time.GetUtcNow();
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM instances WHERE id = @id", new { id = _id }, cancellationToken: cancellationToken));
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
        {
            logger.LogDebug("Heartbeat row not removed: {Error}", ex.Message);
        }
    }

    private async Task WriteAsync(string state, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO instances (id, role, host, pid, state, started_at, heartbeat_at, details)
            VALUES (@id, @role, @host, @pid, @state, @startedAt, @now, @details::jsonb)
            ON CONFLICT (id) DO UPDATE SET role = excluded.role, state = excluded.state, heartbeat_at = excluded.heartbeat_at, details = excluded.details
            """, new
        {
            id = _id,
            role = roles.ToString(),
            host = Dns.GetHostName(),
            pid = Environment.ProcessId,
            state,
            startedAt = _startedAt,
            now = time.GetUtcNow(),
            // The bot's limiters and load level, so the admin API of a separate web process can show them.
            details = services.GetService<IInstanceDetails>()?.BuildJson(),
        }, cancellationToken: ct));
    }
}
