using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Data;

/// <summary>
/// Times the named statistics queries: every one on <c>chatstats_db_query_duration_seconds{query}</c>, and one slower
/// than Database:SlowQueryMs logged with its name and counted on <c>chatstats_db_slow_queries_total{query}</c>.
/// </summary>
internal sealed class QueryTimer(IOptions<DatabaseOptions> options, ILogger<QueryTimer> logger, TimeProvider time)
{
    private static readonly Meter Meter = new("ChatStats.Bot.Database");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("chatstats.db.query.duration", "s",
        "Time of one statistics query (a batch of statements), by query name.");
    private static readonly Counter<long> Slow = Meter.CreateCounter<long>("chatstats.db.slow_queries", "{query}",
        "Statistics queries slower than Database:SlowQueryMs, by query name.");

    /// <summary>A timer that stops when disposed: <c>using var _ = timer.Start("overview");</c>.</summary>
    public Timing Start(string query) => new(this, query, time.GetTimestamp());

    private void Stop(string query, long started)
    {
        var elapsed = time.GetElapsedTime(started);
        var tag = new KeyValuePair<string, object?>("query", query);
        Duration.Record(elapsed.TotalSeconds, tag);
        var threshold = options.Value.SlowQueryMs;
        if (threshold > 0 && elapsed.TotalMilliseconds > threshold)
        {
            Slow.Add(1, tag);
            logger.LogWarning("Slow query {Query}: {Milliseconds:F0} ms (Database:SlowQueryMs is {Threshold})", query, elapsed.TotalMilliseconds, threshold);
        }
    }

    /// <summary>A query being timed.</summary>
    [DebuggerDisplay("{_query}")]
    public readonly struct Timing(QueryTimer? timer, string query, long started) : IDisposable
    {
        public void Dispose() => timer?.Stop(query, started);
    }
}
