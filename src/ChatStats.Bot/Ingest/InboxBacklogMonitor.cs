using System.Diagnostics.Metrics;
using Npgsql;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Reads the inbox's real backlog every second. Between readings the writer and the processor keep the count roughly
/// right themselves, but only for their own process: a web process taking webhooks never records anything, and several
/// processes share one inbox, so receiving slows down on the database's count, not a local guess.
/// </summary>
internal sealed class InboxBacklogMonitor : BackgroundService
{
    private readonly NpgsqlDataSource dataSource;
    private readonly InboxSignal signal;
    private readonly TimeProvider time;
    private readonly ILogger<InboxBacklogMonitor> logger;

    public InboxBacklogMonitor([FromKeyedServices(Data.DatabaseExtensions.IngestPool)] NpgsqlDataSource dataSource, InboxSignal signal, TimeProvider time,
        ILogger<InboxBacklogMonitor> logger, IMeterFactory meters)
    {
        (this.dataSource, this.signal, this.time, this.logger) = (dataSource, signal, time, logger);
        // The gauge belongs to this host (its meter factory), so a second host in the same process has its own.
        meters.Create(IngestMetrics.MeterName + ".Inbox").CreateObservableGauge("chatstats.inbox.backlog", () => signal.Backlog, "{update}",
            "Updates received and not yet recorded, as this process last saw them (the inbox's count, read every second).");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        var failing = false;
        do
        {
            try
            {
                await using var cmd = dataSource.CreateCommand("SELECT coalesce(sum(update_count), 0)::bigint FROM update_inbox");
                signal.Set((long)(await cmd.ExecuteScalarAsync(stoppingToken))!);
                failing = false;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // Receiving itself reports a database that is away; once is enough here.
                if (!failing)
                {
                    logger.LogDebug("Inbox backlog not read: {Error}", ex.Message);
                }
                failing = true;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
