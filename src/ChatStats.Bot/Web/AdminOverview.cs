using ChatStats.Bot.Data;
using System.Text.Json;
using ChatStats.Bot.Throttling;
using Hangfire;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace ChatStats.Bot.Web;

public sealed record CheckState(string Name, string Status, string Detail);

public sealed record NamedRefusal(long Id, string Name, int Refusals);

public sealed record JobsState(long Enqueued, long Processing, long Scheduled, long Failed, long Servers);

/// <summary>The process serving the page: its memory against its limit.</summary>
public sealed record ProcessState(long ResidentBytes, long MemoryLimitBytes, double CpuLimit, double? GrowthBytesPerHour);

/// <summary>
/// What <c>/admin</c> shows and <c>GET /api/admin/stats</c> answers: capacity, health, each bot process's limiters,
/// gates, queues and load level (live, or from its heartbeat when it runs elsewhere), the users and chats refused most,
/// Hangfire's queues, and this process's memory.
/// </summary>
public sealed record AdminSnapshot(
    DateTimeOffset At,
    CapacitySnapshot Capacity,
    string Health,
    IReadOnlyList<CheckState> Checks,
    string LimitsSource,
    IReadOnlyList<LimitsReport> Bots,
    IReadOnlyList<NamedRefusal> MostLimitedUsers,
    IReadOnlyList<NamedRefusal> MostLimitedChats,
    JobsState? Jobs,
    ProcessState Process);

/// <summary>Gathers the admin snapshot: every part that fails says so in the snapshot rather than failing the page.</summary>
internal sealed class AdminOverview(
    CapacityMonitor capacity, HealthCheckService health, NpgsqlDataSource dataSource, JobStorage jobs, IServiceProvider services, TimeProvider time,
    MemoryTrend memory, IEnumerable<IHealthCheckPublisher> publishers, ILogger<AdminOverview> logger)
{
    private static readonly ProcessLimits Limits = ProcessLimits.Read();

    public async Task<AdminSnapshot> BuildAsync(CancellationToken ct)
    {
        // The background run's report (every 30 s) when there is one: a page refreshing every 5 s, in several browsers,
        // does not run the checks again each time.
        var report = publishers.OfType<HealthMetrics>().FirstOrDefault()?.Last
            ?? await health.CheckHealthAsync(r => r.Tags.Contains(HealthChecks.Ready), ct);
        var checks = report.Entries.Select(e => new CheckState(e.Key, e.Value.Status.ToString(),
            e.Value.Description ?? e.Value.Exception?.Message ?? (e.Value.Status == HealthStatus.Healthy ? "ok" : ""))).ToList();
        var database = report.Entries.TryGetValue("database", out var db) && db.Status != HealthStatus.Unhealthy;

        var snapshot = capacity.Snapshot;
        if (database && (snapshot is null || time.GetUtcNow() - snapshot.MeasuredAt > CapacityService.Interval))
        {
            snapshot = await Try(() => capacity.RefreshAsync(ct), "capacity") ?? snapshot;
        }
        var (source, bots) = database ? await Try(() => ReadLimitsAsync(services, dataSource, ct), "limits") : ("none", []);
        bots ??= [];
        var users = Merge(bots.SelectMany(b => b.MostLimitedUsers ?? []));
        var chats = Merge(bots.SelectMany(b => b.MostLimitedChats ?? []));
        var (userNames, chatNames) = database && (users.Count > 0 || chats.Count > 0)
            ? await Try(() => NamesAsync([.. users.Select(u => u.Id)], [.. chats.Select(c => c.Id)], ct), "names")
            : ([], []);
        var jobsState = database ? await Try(() => Task.FromResult(Jobs()), "jobs") : null;
        return new AdminSnapshot(
            time.GetUtcNow(),
            snapshot ?? CapacitySnapshot.Of(0, 0, time.GetUtcNow()),
            report.Status.ToString(),
            checks,
            source ?? "none",
            bots,
            [.. users.Select(u => new NamedRefusal(u.Id, userNames?.GetValueOrDefault(u.Id) ?? $"user {u.Id}", u.Refusals))],
            [.. chats.Select(c => new NamedRefusal(c.Id, chatNames?.GetValueOrDefault(c.Id) ?? $"chat {c.Id}", c.Refusals))],
            jobsState,
            new ProcessState(Environment.WorkingSet, Limits.MemoryLimit, Limits.CpuQuota ?? Environment.ProcessorCount, memory.BytesPerHour));
    }

    /// <summary>The limiters of each running bot process: this one's, live, or the others' from their heartbeats (at most 15 s old).</summary>
    public static async Task<(string Source, IReadOnlyList<LimitsReport> Reports)> ReadLimitsAsync(IServiceProvider services, NpgsqlDataSource dataSource, CancellationToken ct)
    {
        if (services.GetService<LimitsReporter>() is { } reporter)
        {
            return ("live", [reporter.Build()]);
        }
        await using var cmd = dataSource.CreateCommand("""
            SELECT details::text FROM instances
            WHERE role IN ('bot', 'run') AND details IS NOT NULL AND heartbeat_at > now() - interval '1 minute'
            ORDER BY heartbeat_at DESC
            """);
        var reports = new List<LimitsReport>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (JsonSerializer.Deserialize<LimitsReport>(reader.GetString(0), LimitsReport.Json) is { } report)
            {
                reports.Add(report);
            }
        }
        return ("heartbeat", reports);
    }

    private static List<Refused> Merge(IEnumerable<Refused> refused) =>
        [.. refused.GroupBy(r => r.Id).Select(g => new Refused(g.Key, g.Sum(r => r.Refusals))).OrderByDescending(r => r.Refusals).Take(10)];

    private async Task<(Dictionary<long, string>, Dictionary<long, string>)> NamesAsync(long[] users, long[] chats, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT id, first_name, last_name, username FROM users WHERE id = ANY(@users)").With("users", users));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT id, coalesce(title, 'chat ' || id) FROM chats WHERE id = ANY(@chats)").With("chats", chats));
        var userNames = new Dictionary<long, string>();
        var chatNames = new Dictionary<long, string>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var name = string.Join(' ', new[] { reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2) }.Where(n => !string.IsNullOrEmpty(n)));
            userNames[reader.GetInt64(0)] = reader.IsDBNull(3) ? name : $"{name} @{reader.GetString(3)}";
        }
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            chatNames[reader.GetInt64(0)] = reader.GetString(1);
        }
        return (userNames, chatNames);
    }

    private JobsState Jobs()
    {
        var s = jobs.GetMonitoringApi().GetStatistics();
        return new JobsState(s.Enqueued, s.Processing, s.Scheduled, s.Failed, s.Servers);
    }

    private async Task<T?> Try<T>(Func<Task<T>> read, string what)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or JsonException)
        {
            logger.LogWarning(ex, "/admin: could not read {What}", what);
            return default;
        }
    }
}
