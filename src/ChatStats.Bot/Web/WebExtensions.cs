using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Web;

internal static class WebExtensions
{
    /// <summary>Options, metrics exporter and Kestrel binding for the web role.</summary>
    public static WebApplicationBuilder AddWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<WebOptions>(WebOptions.Section);
        var urls = builder.Configuration[$"{WebOptions.Section}:{nameof(WebOptions.Urls)}"];
        builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? new WebOptions().Urls : urls);
        builder.Services.AddSingleton(_ => new PrometheusExporter());
        builder.Services.AddSingleton<ReadinessCheck>();
        return builder;
    }

    /// <summary>Maps /health/live, /health/ready and /metrics.</summary>
    public static WebApplication MapHealthAndMetrics(this WebApplication app)
    {
        // Create the exporter at start so it sees every instrument from the first measurement on.
        _ = app.Services.GetRequiredService<PrometheusExporter>();

        var health = app.MapGroup("/health");
        health.MapGet("/live", () => TypedResults.Ok(new LiveStatus("live")))
            .WithSummary("The process is up.");
        health.MapGet("/ready", async Task<IResult> (ReadinessCheck check, CancellationToken ct) =>
        {
            var report = await check.RunAsync(ct);
            return report.Ready ? TypedResults.Ok(report) : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithSummary("Database reachable, migrations applied, poller healthy.");

        app.MapGet("/metrics", (PrometheusExporter exporter) =>
            TypedResults.Text(exporter.Collect(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithSummary("Prometheus text exposition of every ChatStats, Npgsql and runtime instrument.");
        return app;
    }
}

internal sealed record LiveStatus(string Status);

internal sealed record CheckResult(string Name, bool Ok, string Detail);

internal sealed record ReadinessReport(bool Ready, IReadOnlyList<CheckResult> Checks);

/// <summary>What /health/ready reports: each check says what it found, so an operator knows what to fix.</summary>
internal sealed class ReadinessCheck(NpgsqlDataSource dataSource, DatabaseMigrator migrator, IServiceProvider services, TimeProvider time)
{
    public async Task<ReadinessReport> RunAsync(CancellationToken ct)
    {
        var checks = new List<CheckResult>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await using var cmd = dataSource.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(timeout.Token);
            checks.Add(new("database", true, "reachable"));
            var status = await migrator.GetStatusAsync(timeout.Token);
            checks.Add(status.Pending.Count == 0
                ? new("migrations", true, $"{status.Applied.Count} applied")
                : new("migrations", false, $"{status.Pending.Count} pending: run 'chatstats migrate'"));
            if (status.Pending.Count == 0)
            {
                checks.Add(await PollerAsync(timeout.Token));
                checks.Add(await InboxAsync(timeout.Token));
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            checks.Add(new("database", false, $"unreachable: {ex.Message}"));
        }
        return new ReadinessReport(checks.All(c => c.Ok), checks);
    }

    /// <summary>Received updates waiting to be recorded: a few seconds' worth is normal, minutes mean recording is stuck.</summary>
    private async Task<CheckResult> InboxAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT coalesce(sum(update_count), 0)::bigint, min(received_at) FROM update_inbox");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var waiting = reader.GetInt64(0);
        if (waiting == 0)
        {
            return new("inbox", true, "empty");
        }
        var age = time.GetUtcNow() - reader.GetFieldValue<DateTimeOffset>(1);
        var detail = $"{waiting} updates waiting, oldest {age.TotalSeconds:0} s";
        return age < TimeSpan.FromMinutes(2) ? new("inbox", true, detail) : new("inbox", false, detail + ": recording is stuck, see the bot's log");
    }

    private async Task<CheckResult> PollerAsync(CancellationToken ct)
    {
        if (services.GetRequiredService<IConfiguration>().UsesWebhook())
        {
            // No poller by design: Telegram posts to the web role, and the inbox check shows whether recording keeps up.
            return new("poller", true, "webhook mode");
        }
        if (services.GetService<LongPoller>() is { } poller)
        {
            return poller.State switch
            {
                PollerState.Unauthorized => new("poller", false, "the bot token was rejected"),
                PollerState.Conflict => new("poller", false, "another instance is polling with this token"),
                PollerState.Stopped => new("poller", false, "stopped"),
                PollerState.NotStarted => new("poller", false, "not polling yet (is Telegram reachable? see the bot's log)"),
                var current => new("poller", true, current.ToString()),
            };
        }
        // The bot runs in another process: read its heartbeat.
        await using var cmd = dataSource.CreateCommand("""
            SELECT state, heartbeat_at FROM instances WHERE role IN ('bot', 'run') ORDER BY heartbeat_at DESC LIMIT 1
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return new("poller", true, "no bot process has reported yet (web role only)");
        }
        var state = reader.GetString(0);
        var age = time.GetUtcNow() - reader.GetFieldValue<DateTimeOffset>(1);
        var fresh = age < InstanceHeartbeat.Interval * 4;
        return !fresh
            ? new("poller", false, $"last bot heartbeat {age.TotalSeconds:0} s ago")
            : state is nameof(PollerState.Unauthorized) or nameof(PollerState.Conflict) or nameof(PollerState.Stopped) or nameof(PollerState.NotStarted)
                ? new("poller", false, state)
                : new("poller", true, state);
    }
}
