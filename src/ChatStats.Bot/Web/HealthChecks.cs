using System.Text.Encodings.Web;
using System.Text.Json;
using ChatStats.Bot.Data;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Polly.CircuitBreaker;
using ChatStats.Bot.Scaling;

namespace ChatStats.Bot.Web;

/// <summary>
/// /health/ready as ASP.NET Core health checks: the database (AspNetCore.HealthChecks.NpgSql), migrations, the
/// poller (this process's, or the bot process's heartbeat), the inbox, and the AI provider (degraded, never
/// unready, while its breaker is open: /summary answers offline meanwhile). Each says what it found, so an operator
/// knows what to fix.
/// </summary>
internal static class HealthChecks
{
    public const string Ready = "ready";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static void Register(IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddNpgSql(sp => sp.GetRequiredService<NpgsqlDataSource>(), name: "database", tags: [Ready], timeout: Timeout)
            .AddCheck<MigrationsCheck>("migrations", tags: [Ready], timeout: Timeout)
            .AddCheck<PollerCheck>("poller", tags: [Ready], timeout: Timeout)
            .AddCheck<InboxCheck>("inbox", tags: [Ready], timeout: Timeout)
            .AddCheck<AiCheck>("ai", tags: [Ready], timeout: Timeout);
        // ASP.NET Core runs the checks in the background too (every 30 s, the first after 5 s) and hands the report to
        // the publishers: chatstats_health_status on /metrics, for alerts, without Prometheus calling /health/ready.
        services.AddSingleton<IHealthCheckPublisher, HealthMetrics>();
    }

    public static HealthCheckOptions ReadyOptions { get; } = new()
    {
        Predicate = r => r.Tags.Contains(Ready),
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        ResponseWriter = WriteAsync,
    };

    // As ASP.NET Core writes JSON: "15 pending: run 'chatstats migrate'" stays readable, not \u0027-escaped.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>{"ready": true, "checks": [{"name": "database", "ok": true, "status": "Healthy", "detail": "reachable"}, …]}</c></summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            ready = report.Status != HealthStatus.Unhealthy,
            checks = report.Entries.Select(e => new
            {
                name = e.Key,
                ok = e.Value.Status != HealthStatus.Unhealthy,
                status = e.Value.Status.ToString(),
                detail = e.Value.Description ?? (e.Value.Status == HealthStatus.Healthy ? "reachable"
                    : $"unreachable: {e.Value.Exception?.GetBaseException().Message ?? "no answer in time"}"),
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
    }
}

/// <summary>A check that reads the database: when the database cannot answer, it says so in a line (the database check has the details).</summary>
internal abstract class DatabaseCheck : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            return await CheckAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"not checked: {ex.Message}");
        }
    }

    protected abstract Task<HealthCheckResult> CheckAsync(CancellationToken ct);
}

internal sealed class MigrationsCheck(DatabaseMigrator migrator) : DatabaseCheck
{
    protected override async Task<HealthCheckResult> CheckAsync(CancellationToken ct)
    {
        var status = await migrator.GetStatusAsync(ct);
        return status.Pending.Count == 0
            ? HealthCheckResult.Healthy($"{status.Applied.Count} applied")
            : HealthCheckResult.Unhealthy($"{status.Pending.Count} pending: run 'chatstats migrate'");
    }
}

/// <summary>Received updates waiting to be recorded: a few seconds' worth is normal, minutes mean recording is stuck.</summary>
internal sealed class InboxCheck(NpgsqlDataSource dataSource, TimeProvider time) : DatabaseCheck
{
    protected override async Task<HealthCheckResult> CheckAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT coalesce(sum(update_count), 0)::bigint, min(received_at) FROM update_inbox");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var waiting = reader.GetInt64(0);
        if (waiting == 0)
        {
            return HealthCheckResult.Healthy("empty");
        }
        var age = time.GetUtcNow() - reader.GetFieldValue<DateTimeOffset>(1);
        var detail = $"{waiting} updates waiting, oldest {age.TotalSeconds:0} s";
        return age < TimeSpan.FromMinutes(2) ? HealthCheckResult.Healthy(detail) : HealthCheckResult.Unhealthy(detail + ": recording is stuck, see the bot's log");
    }
}

internal sealed class PollerCheck(NpgsqlDataSource dataSource, IServiceProvider services, TimeProvider time) : DatabaseCheck
{
    protected override async Task<HealthCheckResult> CheckAsync(CancellationToken ct)
    {
        if (services.GetRequiredService<IConfiguration>().UsesWebhook())
        {
            // No poller by design: Telegram posts to the web role, and the inbox check shows whether recording keeps up.
            return HealthCheckResult.Healthy("webhook mode");
        }
        if (services.GetService<LongPoller>() is { } poller && services.GetService<PollerLeadership>() is not { IsStandingBy: true })
        {
            return poller.State switch
            {
                PollerState.Unauthorized => HealthCheckResult.Unhealthy("the bot token was rejected"),
                PollerState.Conflict => HealthCheckResult.Unhealthy("another instance is polling with this token"),
                PollerState.Stopped => HealthCheckResult.Unhealthy("stopped"),
                PollerState.NotStarted => HealthCheckResult.Unhealthy("not polling yet (is Telegram reachable? see the bot's log)"),
                var current => HealthCheckResult.Healthy(current.ToString()),
            };
        }
        // The bot runs in another process, or this one stands by: read the heartbeat of the one that polls.
        await using var cmd = dataSource.CreateCommand("""
            SELECT state, heartbeat_at FROM instances WHERE role IN ('bot', 'run')
            ORDER BY heartbeat_at > @alive DESC, state = 'Standby', heartbeat_at DESC LIMIT 1
            """).With("alive", time.GetUtcNow() - InstanceHeartbeat.Interval * 4);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return HealthCheckResult.Healthy("no bot process has reported yet (web role only)");
        }
        var state = reader.GetString(0);
        var age = time.GetUtcNow() - reader.GetFieldValue<DateTimeOffset>(1);
        return age >= InstanceHeartbeat.Interval * 4
            ? HealthCheckResult.Unhealthy($"last bot heartbeat {age.TotalSeconds:0} s ago")
            : state is nameof(PollerState.Unauthorized) or nameof(PollerState.Conflict) or nameof(PollerState.Stopped) or nameof(PollerState.NotStarted)
                ? HealthCheckResult.Unhealthy(state)
                : state == nameof(PollerState.Standby) ? HealthCheckResult.Unhealthy("every bot instance stands by and none polls (a standby takes over within seconds; if this lasts, see the bots' logs)")
                : HealthCheckResult.Healthy(state);
    }
}

/// <summary>The AI provider as this process's breaker sees it: degraded while open, which never makes the process unready.</summary>
internal sealed class AiCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        Task.FromResult(services.GetService<Summaries.AiClient>() is not { Chat: not null } ai ? HealthCheckResult.Healthy("no model configured: /summary answers offline")
            : ai.Breaker is CircuitState.Open or CircuitState.Isolated ? HealthCheckResult.Degraded($"{ai.Model}: the breaker is open after failures; /summary answers offline meanwhile")
            : HealthCheckResult.Healthy($"{ai.Model}: breaker {ai.Breaker.ToString().ToLowerInvariant()}"));
}

/// <summary>The last background health report on /metrics: <c>chatstats_health_status{check}</c>, 2 healthy, 1 degraded, 0 unhealthy.</summary>
internal sealed class HealthMetrics : IHealthCheckPublisher
{
    private volatile HealthReport? _last;

    public HealthMetrics(System.Diagnostics.Metrics.IMeterFactory meters)
    {
        var meter = System.Diagnostics.Metrics.MeterFactoryExtensions.Create(meters, "ChatStats.Bot.Health");
        meter.CreateObservableGauge("chatstats.health.status", Observe, "{status}",
            "The last background health check, by check (database, migrations, poller, inbox, ai): 2 healthy, 1 degraded, 0 unhealthy.");
        meter.CreateObservableGauge("chatstats.health.check_duration", () => _last?.Entries.Select(e =>
            new System.Diagnostics.Metrics.Measurement<double>(e.Value.Duration.TotalSeconds, new KeyValuePair<string, object?>("check", e.Key))) ?? [], "s",
            "How long each check took in the last background run.");
    }

    /// <summary>The last report, for /admin.</summary>
    public HealthReport? Last => _last;

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        _last = report;
        return Task.CompletedTask;
    }

    private IEnumerable<System.Diagnostics.Metrics.Measurement<int>> Observe() =>
        _last?.Entries.Select(e => new System.Diagnostics.Metrics.Measurement<int>((int)e.Value.Status, new KeyValuePair<string, object?>("check", e.Key))) ?? [];
}
