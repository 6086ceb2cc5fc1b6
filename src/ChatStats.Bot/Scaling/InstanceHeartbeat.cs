using System.Net;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
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
            await using var cmd = dataSource.CreateCommand("DELETE FROM instances WHERE id = $1");
            cmd.Parameters.Add(new() { Value = _id });
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
        {
            logger.LogDebug("Heartbeat row not removed: {Error}", ex.Message);
        }
    }

    private async Task WriteAsync(string state, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO instances (id, role, host, pid, state, started_at, heartbeat_at, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
            ON CONFLICT (id) DO UPDATE SET role = excluded.role, state = excluded.state, heartbeat_at = excluded.heartbeat_at, details = excluded.details
            """);
        cmd.Parameters.Add(new() { Value = _id });
        cmd.Parameters.Add(new() { Value = roles.ToString() });
        cmd.Parameters.Add(new() { Value = Dns.GetHostName() });
        cmd.Parameters.Add(new() { Value = Environment.ProcessId });
        cmd.Parameters.Add(new() { Value = state });
        cmd.Parameters.Add(new() { Value = _startedAt });
        cmd.Parameters.Add(new() { Value = time.GetUtcNow() });
        // The bot's limiters and load level, so the admin API of a separate web process can show them.
        cmd.Parameters.Add(new() { Value = (object?)services.GetService<Throttling.LimitsReporter>()?.BuildJson() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
