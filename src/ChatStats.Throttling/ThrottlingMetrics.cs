using System.Diagnostics.Metrics;

namespace ChatStats.Throttling;

/// <summary>Instruments of the throttling library; any System.Diagnostics.Metrics listener can read them.</summary>
public static class ThrottlingMetrics
{
    public const string MeterName = "ChatStats.Throttling";
    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Decisions = Meter.CreateCounter<long>("chatstats.throttling.decisions", "{decision}", "Limiter decisions by limiter and outcome.");
    internal static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("chatstats.throttling.queue_wait", "s", "Time spent queued for a concurrency slot, by limiter.");
    internal static readonly Counter<long> Overloads = Meter.CreateCounter<long>("chatstats.throttling.overloads", "{request}", "Requests refused by a concurrency limiter, by limiter and reason.");

    internal static readonly Counter<long> LoadLevelChanges = Meter.CreateCounter<long>("chatstats.throttling.load_level_changes", "{change}", "Load-shedding level changes, by monitor and the level entered.");

    internal static void Decision(string limiter, bool allowed) =>
        Decisions.Add(1, new KeyValuePair<string, object?>("limiter", limiter), new KeyValuePair<string, object?>("outcome", allowed ? "allowed" : "rejected"));
}
