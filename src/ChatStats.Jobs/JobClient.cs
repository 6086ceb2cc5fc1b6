using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace ChatStats.Jobs;

/// <summary>A job: a class resolved from DI per run, given its arguments and a <see cref="JobContext"/>.</summary>
public interface IJob<in TArgs>
{
    Task RunAsync(TArgs args, JobContext context);
}

/// <summary>A failure another attempt cannot fix (a missing program, arguments that make no sense): the job is dead at once.</summary>
public sealed class PermanentJobFailureException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What a running job knows about itself.</summary>
public sealed class JobContext(long id, string queue, int attempt, int maxAttempts, Func<int, Task> progress, CancellationToken cancellation)
{
    public long Id { get; } = id;
    public string Queue { get; } = queue;
    /// <summary>1 for the first run.</summary>
    public int Attempt { get; } = attempt;
    public int MaxAttempts { get; } = maxAttempts;
    /// <summary>Cancelled at the queue's soft timeout and when the worker shuts down.</summary>
    public CancellationToken Cancellation { get; } = cancellation;

    public Task ReportProgressAsync(int percent) => progress(Math.Clamp(percent, 0, 100));
}

public sealed record EnqueueOptions
{
    public string Queue { get; init; } = "default";
    /// <summary>Higher runs first within a queue.</summary>
    public int Priority { get; init; }
    public TimeSpan? Delay { get; init; }
    public DateTimeOffset? RunAt { get; init; }
    /// <summary>Defaults to the queue's MaxAttempts.</summary>
    public int? MaxAttempts { get; init; }
    /// <summary>While a job with this key is pending or running, enqueueing again returns that job.</summary>
    public string? UniqueKey { get; init; }
    /// <summary>At most one job with this key runs at a time, across every worker process.</summary>
    public string? ConcurrencyKey { get; init; }
}

/// <param name="Created">False when a pending or running job with the same unique key was returned instead.</param>
public sealed record EnqueueResult(long Id, bool Created);

/// <summary>Enqueues and manages jobs: Hangfire's <c>BackgroundJob.Enqueue</c> and <c>RecurringJob.AddOrUpdate</c>, on PostgreSQL.</summary>
public sealed class JobClient(NpgsqlDataSource dataSource, JobRegistry registry, JobsOptions options, TimeProvider time)
{
    public Task<EnqueueResult> EnqueueAsync<TJob, TArgs>(TArgs args, EnqueueOptions? enqueue = null, CancellationToken ct = default) where TJob : IJob<TArgs> =>
        EnqueueAsync(registry.NameOf<TJob>(), JsonSerializer.SerializeToUtf8Bytes(args, registry.ArgsOptions), enqueue ?? new(), ct);

    public Task<EnqueueResult> ScheduleAsync<TJob, TArgs>(TArgs args, DateTimeOffset runAt, EnqueueOptions? enqueue = null, CancellationToken ct = default) where TJob : IJob<TArgs> =>
        EnqueueAsync<TJob, TArgs>(args, (enqueue ?? new()) with { RunAt = runAt }, ct);

    internal async Task<EnqueueResult> EnqueueAsync(string type, byte[] args, EnqueueOptions o, CancellationToken ct, NpgsqlConnection? connection = null, NpgsqlTransaction? tx = null, string? recurring = null)
    {
        var queue = options.Queue(o.Queue);
        var now = time.GetUtcNow();
        var runAt = o.RunAt ?? now + (o.Delay ?? TimeSpan.Zero);
        var own = connection is null;
        connection ??= await dataSource.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch(connection, tx);
            var insert = new NpgsqlBatchCommand("""
                INSERT INTO jobs.job (queue, type, args, priority, state, max_attempts, run_at, unique_key, concurrency_key, created_at, recurring)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('scheduled', 'enqueued', 'processing', 'failed') DO NOTHING
                RETURNING id
                """);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = o.Queue });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = type });
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = args, NpgsqlDbType = NpgsqlDbType.Jsonb });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = o.Priority });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runAt > now ? JobsSchema.States.Scheduled : JobsSchema.States.Enqueued });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = o.MaxAttempts ?? queue.MaxAttempts });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = runAt.ToUniversalTime() });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)o.UniqueKey ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)o.ConcurrencyKey ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now.ToUniversalTime() });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)recurring ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            batch.BatchCommands.Add(insert);
            // Idle workers of the queue wake at commit (a notification sent in a transaction waits for it).
            var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JobsSchema.NotifyChannel });
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = o.Queue });
            batch.BatchCommands.Add(notify);
            var id = await batch.ExecuteScalarAsync(ct);
            if (id is long created)
            {
                JobsMetrics.Enqueued.Add(1, new KeyValuePair<string, object?>("queue", o.Queue));
                return new EnqueueResult(created, true);
            }
            // The unique key is taken: return the job that holds it (retried once if it finished in between).
            for (var i = 0; i < 3; i++)
            {
                await using var existing = new NpgsqlCommand("""
                    SELECT id FROM jobs.job WHERE unique_key = $1 AND state IN ('scheduled', 'enqueued', 'processing', 'failed')
                    """, connection, tx);
                existing.Parameters.Add(new NpgsqlParameter<string> { TypedValue = o.UniqueKey! });
                if (await existing.ExecuteScalarAsync(ct) is long holder)
                {
                    return new EnqueueResult(holder, false);
                }
            }
            throw new InvalidOperationException($"Job with unique key '{o.UniqueKey}' could be neither created nor found.");
        }
        finally
        {
            if (own)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Creates or changes a recurring job; a changed schedule takes effect from its next occurrence.</summary>
    public async Task AddOrUpdateRecurringAsync<TJob, TArgs>(string name, string cron, TimeZoneInfo zone, TArgs args, string queue = "default", CancellationToken ct = default)
        where TJob : IJob<TArgs>
    {
        var schedule = Cron.Parse(cron);
        var next = Cron.Next(schedule, zone, time.GetUtcNow());
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO jobs.recurring (name, cron, time_zone, type, args, queue, next_run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, time_zone = excluded.time_zone, type = excluded.type, args = excluded.args,
              queue = excluded.queue,
              next_run_at = CASE WHEN (jobs.recurring.cron, jobs.recurring.time_zone) IS DISTINCT FROM (excluded.cron, excluded.time_zone)
                                 THEN excluded.next_run_at ELSE jobs.recurring.next_run_at END
            """);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = cron });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = zone.Id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = registry.NameOf<TJob>() });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = JsonSerializer.SerializeToUtf8Bytes(args, registry.ArgsOptions), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = queue });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = next });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<bool> RemoveRecurringAsync(string name, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("DELETE FROM jobs.recurring WHERE name = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Makes a recurring job due now; the scheduler enqueues it within its next tick.</summary>
    public async Task<bool> TriggerRecurringAsync(string name, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("UPDATE jobs.recurring SET next_run_at = $2 WHERE name = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>A failed, dead or deleted job runs again, as a fresh first attempt (its history is kept).</summary>
    public async Task<bool> RetryAsync(long id, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            WITH u AS (
              UPDATE jobs.job SET state = 'enqueued', attempt = 0, run_at = $2, finished_at = NULL, worker = NULL, lease_until = NULL
              WHERE id = $1 AND state IN ('failed', 'dead', 'deleted', 'succeeded') RETURNING queue)
            SELECT pg_notify('chatstats_jobs', queue) FROM u
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct);
    }

    /// <summary>A job that has not started (or failed, or died) is deleted; a running one finishes first.</summary>
    public async Task<bool> DeleteAsync(long id, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            UPDATE jobs.job SET state = 'deleted', finished_at = $2 WHERE id = $1 AND state IN ('scheduled', 'enqueued', 'failed', 'dead', 'succeeded')
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>How many jobs of the queue would start before this one (0 when it is next or running).</summary>
    public async Task<long> PositionAsync(long id, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT count(*) FROM jobs.job o, jobs.job j
            WHERE j.id = $1 AND j.state IN ('scheduled', 'enqueued', 'failed') AND o.queue = j.queue AND o.state IN ('scheduled', 'enqueued', 'failed')
              AND (o.priority > j.priority OR (o.priority = j.priority AND (o.run_at, o.id) < (j.run_at, j.id)))
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
