using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hangfire;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.Storage.Monitoring;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// Jobs on /metrics. Durations, start delays and outcomes come from a server filter around every job this process
/// runs; counts per state and queue and the servers come from Hangfire's monitoring API, read at most once per
/// <see cref="CacheFor"/> however often Prometheus scrapes (every process reports the same totals: they are the storage's).
/// </summary>
internal sealed class JobsMetrics : JobFilterAttribute, IServerFilter
{
    public const string MeterName = "ChatStats.Bot.Jobs";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);
    private const string StartedKey = "chatstats.started";

    private readonly Meter _meter;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _startDelay;
    private readonly Counter<long> _finished;
    private readonly JobStorage _storage;
    private readonly TimeProvider _time;
    private readonly ILogger<JobsMetrics> _logger;
    private readonly Lock _lock = new();
    private Snapshot? _snapshot;

    public JobsMetrics(JobStorage storage, TimeProvider time, ILogger<JobsMetrics> logger, IMeterFactory meters)
    {
        // The host's factory: /metrics publishes this host's jobs, not those of another host in the same process.
        _meter = meters.Create(MeterName);
        _storage = storage;
        _time = time;
        _logger = logger;
        _duration = _meter.CreateHistogram<double>("chatstats.jobs.duration", "s", "Time a job ran in this process, by queue and outcome.");
        _startDelay = _meter.CreateHistogram<double>("chatstats.jobs.start_delay", "s", "From a job's creation to the start of an attempt that is not a retry, by queue (a job requeued by hand counts again, from its creation).");
        _finished = _meter.CreateCounter<long>("chatstats.jobs.finished", "{job}", "Jobs run in this process, by queue and outcome: succeeded, failed, canceled (shutdown).");
        _meter.CreateObservableGauge("chatstats.jobs.stored", Counts, "{job}", "Jobs in the storage by state, and enqueued or processing by queue.");
        _meter.CreateObservableGauge("chatstats.jobs.servers", () => Read()?.Servers ?? 0, "{server}", "Hangfire servers with a recent heartbeat, across all worker processes.");
        _meter.CreateObservableGauge("chatstats.jobs.recurring", () => Read()?.Recurring ?? 0, "{job}", "Recurring jobs registered.");
    }

    private sealed record Snapshot(DateTimeOffset At, long Servers, long Recurring, IReadOnlyList<Measurement<long>> Counts);

    public void OnPerforming(PerformingContext context)
    {
        context.Items[StartedKey] = Stopwatch.GetTimestamp();
        // First attempts only: a retry's delay is its backoff, not the queue's.
        if (context.GetJobParameter<int>(JobRetries.RetryCount) == 0)
        {
            var waited = _time.GetUtcNow().UtcDateTime - context.BackgroundJob.CreatedAt;
            _startDelay.Record(Math.Max(0, waited.TotalSeconds), new KeyValuePair<string, object?>("queue", Queue(context.BackgroundJob.Job)));
        }
    }

    public void OnPerformed(PerformedContext context)
    {
        var queue = new KeyValuePair<string, object?>("queue", Queue(context.BackgroundJob.Job));
        var outcome = new KeyValuePair<string, object?>("outcome", context.Canceled ? "canceled"
            : context.Exception is null || context.ExceptionHandled ? "succeeded"
            : context.Exception is OperationCanceledException ? "canceled" : "failed");
        if (context.Items.TryGetValue(StartedKey, out var started) && started is long timestamp)
        {
            _duration.Record(Stopwatch.GetElapsedTime(timestamp).TotalSeconds, queue, outcome);
        }
        _finished.Add(1, queue, outcome);
    }

    private IEnumerable<Measurement<long>> Counts() => Read()?.Counts ?? [];

    private Snapshot? Read()
    {
        lock (_lock)
        {
            if (_snapshot is { } fresh && _time.GetUtcNow() - fresh.At < CacheFor)
            {
                return fresh;
            }
            try
            {
                var monitoring = _storage.GetMonitoringApi();
                var stats = monitoring.GetStatistics();
                var counts = new List<Measurement<long>>
                {
                    State("enqueued", stats.Enqueued), State("scheduled", stats.Scheduled), State("processing", stats.Processing),
                    State("succeeded", stats.Succeeded), State("failed", stats.Failed), State("deleted", stats.Deleted),
                };
                var processing = monitoring.ProcessingJobs(0, (int)Math.Min(stats.Processing, 1_000))
                    .GroupBy(j => Queue(j.Value?.Job)).ToDictionary(g => g.Key, g => (long)g.Count());
                foreach (QueueWithTopEnqueuedJobsDto queue in monitoring.Queues())
                {
                    counts.Add(new Measurement<long>(queue.Length, new("state", "enqueued"), new("queue", queue.Name)));
                    counts.Add(new Measurement<long>(processing.GetValueOrDefault(queue.Name), new("state", "processing"), new("queue", queue.Name)));
                }
                return _snapshot = new Snapshot(_time.GetUtcNow(), stats.Servers, stats.Recurring, counts);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // A scrape must not fail over the database: report what was last seen, or nothing.
                _logger.LogDebug("Job counts not read: {Error}", ex.Message);
                return _snapshot;
            }
        }

        static Measurement<long> State(string state, long count) => new(count, new KeyValuePair<string, object?>("state", state), new("queue", "all"));
    }

    private static string Queue(Job? job) => job?.Queue ?? JobsOptions.DefaultQueue;

}
