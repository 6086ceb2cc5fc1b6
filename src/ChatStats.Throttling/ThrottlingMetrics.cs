using System.Diagnostics.Metrics;

namespace ChatStats.Throttling;

/// <summary>Instruments of the throttling library; any System.Diagnostics.Metrics listener can read them.</summary>
public static class ThrottlingMetrics
{
    public const string MeterName = "ChatStats.Throttling";
    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Decisions = Meter.CreateCounter<long>("chatstats.throttling.decisions", "{decision}",
        "Limiter decisions by limiter, outcome and policy (a token-bucket limiter's policy: the chat's or the API key's tier; 'default' for the others).");
    internal static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("chatstats.throttling.queue_wait", "s", "Time spent queued for a concurrency slot, by limiter.");
    internal static readonly Counter<long> Overloads = Meter.CreateCounter<long>("chatstats.throttling.overloads", "{request}", "Requests refused by a concurrency limiter, by limiter and reason.");

    internal static readonly Counter<long> LoadLevelChanges = Meter.CreateCounter<long>("chatstats.throttling.load_level_changes", "{change}", "Load-shedding level changes, by monitor and the level entered.");

    /// <summary>Every decision carries the same three tags, so an exporter that fixes a metric's labels at its first measurement loses none.</summary>
    internal static void Decision(string limiter, bool allowed, string policy = "default") =>
        Decisions.Add(1, new KeyValuePair<string, object?>("limiter", limiter), new KeyValuePair<string, object?>("outcome", allowed ? "allowed" : "rejected"),
            new KeyValuePair<string, object?>("policy", policy));
}
