using System.Diagnostics;
using Hangfire;
using Hangfire.Storage;

namespace ChatStats.Bot.Jobs;

/// <summary>A job that only runs: what chatstats doctor sends down each queue, and what bench jobs measures the queue with.</summary>
internal sealed class PingJob
{
    public Task RunAsync() => Task.CompletedTask;
}

/// <summary>
/// Are the workers there, and do they pick work up? For each queue: the servers with a recent heartbeat that serve it,
/// then a <see cref="PingJob"/> enqueued there and the time until a worker started it (Hangfire's own state times).
/// </summary>
internal sealed class JobsPing(IBackgroundJobClient client, JobStorage storage, TimeProvider time)
{
    /// <summary>A server whose heartbeat is older than this is gone (the servers' ServerTimeout is two minutes).</summary>
    private static readonly TimeSpan Alive = TimeSpan.FromMinutes(2);

    public sealed record Result(string Queue, bool Ok, string Detail);

    public async Task<Result> PingAsync(string queue, TimeSpan patience, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var servers = storage.GetMonitoringApi().Servers()
            .Where(s => s.Queues.Contains(queue) && s.Heartbeat is { } beat && now - beat < Alive)
            .ToList();
        if (servers.Count == 0)
        {
            return new Result(queue, false, $"no worker serves queue '{queue}': start 'chatstats worker' (or 'chatstats run', which includes it)");
        }
        var workers = servers.Sum(s => s.WorkersCount);
        var id = client.Enqueue<PingJob>(queue, job => job.RunAsync());
        var waited = Stopwatch.StartNew();
        using var connection = storage.GetConnection();
        while (waited.Elapsed < patience)
        {
            if (connection.GetJobData(id) is { State: "Succeeded" } && Started(id) is { } delay)
            {
                return new Result(queue, true, $"a ping was picked up {delay.TotalMilliseconds:N0} ms after it was queued ({workers} worker(s) on {servers.Count} server(s))");
            }
            await Task.Delay(50, ct);
        }
        client.Delete(id);
        return new Result(queue, false,
            $"a ping waited {patience.TotalSeconds:N0} s and no worker took it, though {servers.Count} server(s) serve queue '{queue}': are they all busy? See /hangfire");
    }

    /// <summary>From the Enqueued state to the Processing state, as the storage recorded them.</summary>
    private TimeSpan? Started(string id)
    {
        var history = storage.GetMonitoringApi().JobDetails(id)?.History;
        var enqueued = history?.LastOrDefault(h => h.StateName == "Enqueued")?.CreatedAt;
        var processing = history?.LastOrDefault(h => h.StateName == "Processing")?.CreatedAt;
        return enqueued is { } e && processing is { } p ? p - e : null;
    }
}
