using System.Diagnostics.Metrics;

namespace ChatStats.Telegram;

/// <summary>Instruments of the Telegram library; any System.Diagnostics.Metrics listener can read them.</summary>
public static class TelegramMetrics
{
    public const string MeterName = "ChatStats.Telegram";
    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> UpdatesReceived = Meter.CreateCounter<long>("chatstats.telegram.updates_received", "{update}", "Updates returned by getUpdates.");
    internal static readonly Counter<long> PollErrors = Meter.CreateCounter<long>("chatstats.telegram.poll_errors", "{error}", "getUpdates failures by error code (0 = network).");
    internal static readonly Histogram<double> PollDuration = Meter.CreateHistogram<double>("chatstats.telegram.poll_duration", "s", "getUpdates round trips that returned updates.");
    internal static readonly Histogram<double> HandleDuration = Meter.CreateHistogram<double>("chatstats.telegram.batch_handle_duration", "s", "Time the batch handler took before the offset could be confirmed.");
    internal static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("chatstats.telegram.batch_size", "{update}", "Updates per getUpdates batch.");
    internal static readonly Counter<long> SendErrors = Meter.CreateCounter<long>("chatstats.telegram.send_errors", "{error}", "Failed sends by method and error code.");
    internal static readonly Counter<long> FloodWaits = Meter.CreateCounter<long>("chatstats.telegram.flood_waits", "{response}", "429 answers with retry_after received for sends.");
    internal static readonly Counter<long> StaleDropped = Meter.CreateCounter<long>("chatstats.telegram.stale_replies_dropped", "{message}", "Replies dropped because they waited longer than the maximum reply age.");
    internal static readonly Counter<long> WebhookDeliveries = Meter.CreateCounter<long>("chatstats.telegram.webhook_deliveries", "{request}", "Webhook calls by outcome: stored, unauthorized, unreadable, too_large, aborted, failed.");
    internal static readonly Counter<long> Sent = Meter.CreateCounter<long>("chatstats.telegram.sent", "{message}", "Messages sent by method.");
}
