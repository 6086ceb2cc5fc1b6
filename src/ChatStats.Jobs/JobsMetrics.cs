using System.Diagnostics.Metrics;

namespace ChatStats.Jobs;

/// <summary>Instruments of the job system; any System.Diagnostics.Metrics listener (the /metrics exporter) reads them.</summary>
public static class JobsMetrics
{
    public const string MeterName = "ChatStats.Jobs";
    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Enqueued = Meter.CreateCounter<long>("chatstats.jobs.enqueued", "{job}", "Jobs enqueued, by queue.");
    internal static readonly Counter<long> Finished = Meter.CreateCounter<long>("chatstats.jobs.finished", "{attempt}", "Attempts finished, by queue and outcome (succeeded, failed, dead, timeout, interrupted).");
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>("chatstats.jobs.retries", "{job}", "Jobs scheduled for another attempt, by queue.");
    internal static readonly Counter<long> Rescued = Meter.CreateCounter<long>("chatstats.jobs.rescued", "{job}", "Jobs whose worker's lease ran out and were taken back, by queue.");
    internal static readonly Counter<long> Stuck = Meter.CreateCounter<long>("chatstats.jobs.stuck", "{job}", "Jobs still running after their hard timeout (they ignored cancellation), by queue.");
    internal static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("chatstats.jobs.duration", "s", "Attempt durations, by queue.");
    /// <summary>Jobs by queue and state, and the age of each queue's oldest due job, as last counted by a worker.</summary>
    internal static volatile IReadOnlyList<(string Queue, string State, long Count)> Counts = [];
    internal static volatile IReadOnlyDictionary<string, double> OldestDueAge = new Dictionary<string, double>();

    private static readonly ObservableGauge<long> CountGauge = Meter.CreateObservableGauge("chatstats.jobs.count",
        () => Counts.Select(c => new Measurement<long>(c.Count, new KeyValuePair<string, object?>("queue", c.Queue), new KeyValuePair<string, object?>("state", c.State))),
        "{job}", "Jobs by queue and state.");

    private static readonly ObservableGauge<double> OldestGauge = Meter.CreateObservableGauge("chatstats.jobs.oldest_due_age",
        () => OldestDueAge.Select(o => new Measurement<double>(o.Value, new KeyValuePair<string, object?>("queue", o.Key))),
        "s", "How long the oldest due job of each queue has waited to start.");

    internal static readonly Histogram<double> StartDelay = Meter.CreateHistogram<double>("chatstats.jobs.start_delay", "s", "From due (enqueued or run-at) to started, by queue.");
}
