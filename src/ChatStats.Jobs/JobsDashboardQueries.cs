using Npgsql;

namespace ChatStats.Jobs;

public sealed record JobSummary(long Id, string Queue, string Type, string State, int Attempt, int MaxAttempts, DateTimeOffset CreatedAt,
    DateTimeOffset RunAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? LastError, int? Progress, string? Worker);

public sealed record JobAttempt(int Attempt, string Worker, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Outcome, string? Error);

public sealed record JobDetails(JobSummary Job, string Args, string? UniqueKey, string? ConcurrencyKey, string? Recurring, IReadOnlyList<JobAttempt> Attempts);

public sealed record RecurringJob(string Name, string Cron, string TimeZone, string Type, string Queue, DateTimeOffset NextRunAt, DateTimeOffset? LastRunAt, long? LastJobId);

public sealed record WorkerServer(string Id, string Host, int Pid, string Queues, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);

public sealed record MinuteCounts(DateTimeOffset Minute, long Succeeded, long Failed);

/// <summary>What the jobs dashboard shows, read from the job tables.</summary>
public sealed class JobsDashboardQueries(NpgsqlDataSource dataSource, TimeProvider time)
{
    public async Task<IReadOnlyDictionary<string, long>> CountsAsync(CancellationToken ct)
    {
        var counts = JobsSchema.States.All.ToDictionary(s => s, _ => 0L);
        await using var cmd = dataSource.CreateCommand("SELECT state, count(*) FROM jobs.job GROUP BY 1");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    /// <summary>Attempts that succeeded and failed in each of the last 60 minutes (zeros included), oldest first.</summary>
    public async Task<IReadOnlyList<MinuteCounts>> LastHourAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-59);
        await using var cmd = dataSource.CreateCommand("""
            SELECT date_trunc('minute', finished_at, 'UTC'), count(*) FILTER (WHERE outcome = 'succeeded'), count(*) FILTER (WHERE outcome <> 'succeeded' AND outcome <> 'interrupted')
            FROM jobs.attempt WHERE finished_at >= $1 GROUP BY 1
            """);
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = start });
        var byMinute = new Dictionary<DateTimeOffset, (long, long)>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                byMinute[reader.GetFieldValue<DateTimeOffset>(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }
        return [.. Enumerable.Range(0, 60).Select(i => start.AddMinutes(i)).Select(m => byMinute.TryGetValue(m, out var c) ? new MinuteCounts(m, c.Item1, c.Item2) : new MinuteCounts(m, 0, 0))];
    }

    public async Task<IReadOnlyList<JobSummary>> ListAsync(string state, int page, int pageSize, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            SELECT {SummaryColumns} FROM jobs.job WHERE state = $1 ORDER BY id DESC OFFSET $2 LIMIT $3
            """);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = state });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, page - 1) * pageSize });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pageSize });
        var list = new List<JobSummary>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(Summary(reader));
        }
        return list;
    }

    public async Task<JobDetails?> JobAsync(long id, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        var job = new NpgsqlBatchCommand($"SELECT {SummaryColumns}, jsonb_pretty(args), unique_key, concurrency_key, recurring FROM jobs.job WHERE id = $1");
        job.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        var attempts = new NpgsqlBatchCommand("SELECT attempt, worker, started_at, finished_at, outcome, error FROM jobs.attempt WHERE job_id = $1 ORDER BY finished_at, attempt");
        attempts.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        batch.BatchCommands.Add(job);
        batch.BatchCommands.Add(attempts);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var summary = Summary(reader);
        var args = reader.GetString(13);
        var unique = reader.IsDBNull(14) ? null : reader.GetString(14);
        var concurrency = reader.IsDBNull(15) ? null : reader.GetString(15);
        var recurring = reader.IsDBNull(16) ? null : reader.GetString(16);
        await reader.NextResultAsync(ct);
        var list = new List<JobAttempt>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new JobAttempt(reader.GetInt32(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }
        return new JobDetails(summary, args, unique, concurrency, recurring, list);
    }

    public async Task<IReadOnlyList<RecurringJob>> RecurringAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT name, cron, time_zone, type, queue, next_run_at, last_run_at, last_job_id FROM jobs.recurring ORDER BY name");
        var list = new List<RecurringJob>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(new RecurringJob(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetInt64(7)));
        }
        return list;
    }

    public async Task<IReadOnlyList<WorkerServer>> ServersAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT id, host, pid, queues::text, started_at, heartbeat_at FROM jobs.server ORDER BY started_at");
        var list = new List<WorkerServer>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(new WorkerServer(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5)));
        }
        return list;
    }

    private const string SummaryColumns = "id, queue, type, state, attempt, max_attempts, created_at, run_at, started_at, finished_at, last_error, progress, worker";

    private static JobSummary Summary(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5), r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7),
        r.IsDBNull(8) ? null : r.GetFieldValue<DateTimeOffset>(8), r.IsDBNull(9) ? null : r.GetFieldValue<DateTimeOffset>(9),
        r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(11) ? null : r.GetInt32(11), r.IsDBNull(12) ? null : r.GetString(12));
}
