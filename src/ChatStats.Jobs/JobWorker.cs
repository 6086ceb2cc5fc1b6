using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ChatStats.Jobs;

/// <summary>
/// Runs the jobs of the configured queues: per queue, <c>Workers</c> slots, each claiming one job at a time with one
/// statement (<c>UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING</c>). A running job holds a
/// lease its worker extends; every finish is guarded by worker and attempt, so a job taken back from a worker that
/// vanished cannot be finished twice. Idle slots wake on LISTEN/NOTIFY and poll as a fallback. On shutdown the worker
/// stops claiming, lets running jobs finish within the grace period, and returns the rest to their queue at once.
/// </summary>
public sealed class JobWorker(
    NpgsqlDataSource dataSource, JobRegistry registry, JobsOptions options, IServiceProvider services, TimeProvider time, ILogger<JobWorker> logger)
    : BackgroundService
{
    private sealed record Claimed(long Id, string Queue, string Type, byte[] Args, int Attempt, int MaxAttempts, DateTimeOffset Due);

    private sealed class Running(Claimed job, CancellationTokenSource cancellation)
    {
        public Claimed Job { get; } = job;
        public CancellationTokenSource Cancellation { get; } = cancellation;
        public Task Completion { get; set; } = Task.CompletedTask;
        public long StartedAt { get; } = Stopwatch.GetTimestamp();
    }

    private readonly ConcurrentDictionary<long, Running> _running = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _wake = new();
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>This process's identity in jobs.job.worker and jobs.server.</summary>
    public string Id { get; } = $"{Dns.GetHostName()}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public IReadOnlyCollection<string> Queues => options.Run.Count > 0 ? options.Run : [.. options.Queues.Keys];

    /// <summary>Jobs running in this process right now.</summary>
    public int RunningCount => _running.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        options.Validate();
        foreach (var queue in Queues)
        {
            _ = options.Queue(queue);
            _wake[queue] = new SemaphoreSlim(0);
        }
        await RegisterAsync(stoppingToken);
        var loops = new List<Task>
        {
            ListenAsync(stoppingToken),
            EveryAsync(options.Lease / 3, HeartbeatAsync, stoppingToken),
            EveryAsync(options.RescueInterval, RescueAsync, stoppingToken),
            EveryAsync(TimeSpan.FromSeconds(10), CountAsync, stoppingToken),
        };
        loops.AddRange(Queues.Select(q => DispatchAsync(q, stoppingToken)));
        try
        {
            await Task.WhenAll(loops);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await DrainAsync();
    }

    private async Task DispatchAsync(string queue, CancellationToken stop)
    {
        var settings = options.Queue(queue);
        using var slots = new SemaphoreSlim(settings.Workers);
        var wake = _wake[queue];
        while (!stop.IsCancellationRequested)
        {
            // Every free slot at this moment: one statement claims a job for each (each slot still runs one job).
            await slots.WaitAsync(stop);
            var free = 1;
            while (free < settings.Workers && slots.Wait(0, CancellationToken.None))
            {
                free++;
            }
            IReadOnlyList<Claimed> jobs;
            try
            {
                jobs = await ClaimAsync(queue, free, stop);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stop.IsCancellationRequested)
            {
                slots.Release(free);
                logger.LogWarning("Claiming from queue {Queue} failed: {Error}", queue, ex.Message);
                await Task.Delay(options.PollInterval, time, stop);
                continue;
            }
            if (free > jobs.Count)
            {
                slots.Release(free - jobs.Count);
            }
            foreach (var job in jobs)
            {
                var running = new Running(job, CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
                _running[job.Id] = running;
                running.Completion = Task.Run(async () =>
                {
                    try
                    {
                        await RunAsync(running, settings);
                    }
                    finally
                    {
                        _running.TryRemove(job.Id, out _);
                        running.Cancellation.Dispose();
                        slots.Release();
                    }
                }, CancellationToken.None);
            }
            if (jobs.Count < free)
            {
                // Less work than slots: sleep until a notification for this queue or the poll interval.
                await wake.WaitAsync(options.PollInterval, stop);
                while (wake.CurrentCount > 0)
                {
                    await wake.WaitAsync(0, stop);
                }
            }
        }
    }

    /// <summary>
    /// Job state changes commit without waiting for the WAL flush: after a crash, a lost claim or finish only means the
    /// job runs again, which at-least-once delivery allows and the lease rescue would do anyway.
    /// </summary>
    private static NpgsqlBatchCommand RelaxedCommit() => new("SELECT set_config('synchronous_commit', 'off', true)");

    private async Task<IReadOnlyList<Claimed>> ClaimAsync(string queue, int limit, CancellationToken ct)
    {
        for (var tries = 0; tries < 3; tries++)
        {
            try
            {
                await using var batch = dataSource.CreateBatch();
                batch.BatchCommands.Add(RelaxedCommit());
                var claim = new NpgsqlBatchCommand("""
                    UPDATE jobs.job j SET state = 'processing', attempt = j.attempt + 1, worker = $2, started_at = $3, lease_until = $4, progress = NULL
                    WHERE j.id IN (
                      SELECT c.id FROM jobs.job c
                      WHERE c.queue = $1 AND c.state IN ('scheduled', 'enqueued', 'failed') AND c.run_at <= $3
                        AND (c.concurrency_key IS NULL OR NOT EXISTS (
                              SELECT 1 FROM jobs.job r WHERE r.concurrency_key = c.concurrency_key AND r.state = 'processing'))
                      ORDER BY c.priority DESC, c.run_at, c.id
                      FOR UPDATE SKIP LOCKED LIMIT $5)
                    RETURNING j.id, j.type, j.args::text, j.attempt, j.max_attempts, j.run_at
                    """);
                var now = time.GetUtcNow();
                claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = queue });
                claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
                claim.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
                claim.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + options.Lease });
                // Two jobs with one concurrency key in a multi-job claim would break the unique index: take one when keys are about.
                claim.Parameters.Add(new NpgsqlParameter<int> { TypedValue = tries == 0 ? limit : 1 });
                batch.BatchCommands.Add(claim);
                await using var reader = await batch.ExecuteReaderAsync(ct);
                await reader.NextResultAsync(ct);
                var jobs = new List<Claimed>();
                while (await reader.ReadAsync(ct))
                {
                    jobs.Add(new Claimed(reader.GetInt64(0), queue, reader.GetString(1), System.Text.Encoding.UTF8.GetBytes(reader.GetString(2)),
                        reader.GetInt32(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5)));
                }
                return jobs;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // Two jobs of one concurrency key, or another process started one a moment ago: look again, one at a time.
            }
        }
        return [];
    }

    private async Task RunAsync(Running running, QueueOptions settings)
    {
        var job = running.Job;
        var tag = new KeyValuePair<string, object?>("queue", job.Queue);
        JobsMetrics.StartDelay.Record(Math.Max(0, (time.GetUtcNow() - job.Due).TotalSeconds), tag);
        if (!registry.TryGet(job.Type, out var descriptor))
        {
            await FinishAsync(job, failed: true, $"No job class is registered as '{job.Type}' in this process.", retry: false);
            return;
        }
        running.Cancellation.CancelAfter(TimeSpan.FromSeconds(settings.SoftTimeoutSeconds));
        Task work;
        AsyncServiceScope scope = services.CreateAsyncScope();
        try
        {
            var instance = scope.ServiceProvider.GetRequiredService(descriptor.JobType);
            var args = descriptor.ReadArgs(job.Args);
            var context = new JobContext(job.Id, job.Queue, job.Attempt, job.MaxAttempts, percent => ProgressAsync(job, percent), running.Cancellation.Token);
            work = Task.Run(() => descriptor.Run(instance, args, context), CancellationToken.None);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            await scope.DisposeAsync();
            await FinishAsync(job, failed: true, $"The job could not start: {ex}", retry: false);
            return;
        }

        var hard = Task.Delay(TimeSpan.FromSeconds(settings.TimeoutSeconds), time, _shutdown.Token);
        await Task.WhenAny(work, hard);
        JobsMetrics.Duration.Record(Stopwatch.GetElapsedTime(running.StartedAt).TotalSeconds, tag);
        if (!work.IsCompleted)
        {
            if (_shutdown.IsCancellationRequested)
            {
                // Shutting down: DrainAsync returns the job to its queue.
                _ = work.ContinueWith(_ => scope.DisposeAsync(), TaskScheduler.Default);
                return;
            }
            // The job ignored its cancellation: fail the attempt and free the slot; the code runs on, reported as stuck.
            JobsMetrics.Stuck.Add(1, tag);
            logger.LogError("Job {JobId} ({Type}) is still running after its {Timeout} s hard timeout and ignores cancellation; its slot is freed", job.Id, job.Type, settings.TimeoutSeconds);
            _ = work.ContinueWith(t => { _ = t.Exception; return scope.DisposeAsync(); }, TaskScheduler.Default);
            await FinishAsync(job, failed: true, $"Hard timeout: still running after {settings.TimeoutSeconds} s (soft timeout at {settings.SoftTimeoutSeconds} s was ignored); the attempt was failed and the code reported as stuck.", retry: true, outcome: "timeout");
            return;
        }
        await scope.DisposeAsync();
        if (work.IsCompletedSuccessfully)
        {
            await FinishAsync(job, failed: false, null, retry: false);
        }
        else
        {
            var error = work.Exception?.InnerException ?? work.Exception ?? (Exception)new OperationCanceledException();
            var soft = running.Cancellation.IsCancellationRequested && error is OperationCanceledException && !_shutdown.IsCancellationRequested;
            if (_shutdown.IsCancellationRequested && error is OperationCanceledException)
            {
                return; // cancelled by the shutdown; DrainAsync returns it
            }
            await FinishAsync(job, failed: true, soft ? $"Cancelled at the soft timeout ({settings.SoftTimeoutSeconds} s).\n{error}" : error.ToString(),
                retry: error is not PermanentJobFailureException, outcome: soft ? "timeout" : "failed");
        }
    }

    /// <summary>Records the attempt and moves the job on — only if this worker still owns this attempt.</summary>
    private async Task FinishAsync(Claimed job, bool failed, string? error, bool retry, string? outcome = null)
    {
        var now = time.GetUtcNow();
        string state;
        DateTimeOffset? runAt = null;
        if (!failed)
        {
            state = JobsSchema.States.Succeeded;
            outcome ??= "succeeded";
        }
        else if (retry && job.Attempt < job.MaxAttempts)
        {
            state = JobsSchema.States.Failed;
            runAt = now + options.RetryDelay(job.Attempt, Random.Shared.NextDouble());
            outcome ??= "failed";
        }
        else
        {
            state = JobsSchema.States.Dead;
            outcome = outcome is null or "failed" ? "dead" : outcome;
        }
        try
        {
            await using var batch = dataSource.CreateBatch();
            batch.BatchCommands.Add(RelaxedCommit());
            var cmd = new NpgsqlBatchCommand("""
                WITH u AS (
                  UPDATE jobs.job SET state = $4, run_at = coalesce($5, run_at), finished_at = CASE WHEN $4 IN ('succeeded', 'dead') THEN $6 END,
                                      last_error = coalesce($7, last_error), worker = NULL, lease_until = NULL, progress = CASE WHEN $4 = 'succeeded' THEN 100 ELSE progress END
                  WHERE id = $1 AND worker = $2 AND attempt = $3 AND state = 'processing'
                  RETURNING id, attempt, started_at)
                INSERT INTO jobs.attempt (job_id, attempt, worker, started_at, finished_at, outcome, error)
                SELECT id, attempt, $2, started_at, $6, $8, $7 FROM u
                """);
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = job.Attempt });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = state });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)runAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = outcome });
            batch.BatchCommands.Add(cmd);
            await batch.ExecuteNonQueryAsync(CancellationToken.None);
            var changed = cmd.RecordsAffected;
            if (changed == 0)
            {
                logger.LogWarning("Job {JobId} attempt {Attempt} finished ({Outcome}) after it was taken back from this worker; nothing changed", job.Id, job.Attempt, outcome);
                return;
            }
            var tag = new KeyValuePair<string, object?>("queue", job.Queue);
            JobsMetrics.Finished.Add(1, tag, new KeyValuePair<string, object?>("outcome", outcome));
            if (state == JobsSchema.States.Failed)
            {
                JobsMetrics.Retries.Add(1, tag);
                logger.LogWarning("Job {JobId} ({Type}) attempt {Attempt}/{Max} failed; retrying at {RunAt:u}", job.Id, job.Type, job.Attempt, job.MaxAttempts, runAt);
            }
            else if (state == JobsSchema.States.Dead)
            {
                logger.LogError("Job {JobId} ({Type}) is dead after {Attempt} attempt(s): {Error}", job.Id, job.Type, job.Attempt, FirstLine(error));
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The lease runs out and the rescue takes the job back: it runs again rather than being lost.
            logger.LogError("Job {JobId}: could not record its end ({Error}); it will be rescued when its lease runs out", job.Id, ex.Message);
        }
    }

    private static string? FirstLine(string? text) => text?.Split('\n', 2)[0];

    private async Task ProgressAsync(Claimed job, int percent)
    {
        await using var cmd = dataSource.CreateCommand("UPDATE jobs.job SET progress = $3 WHERE id = $1 AND worker = $2 AND state = 'processing'");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = percent });
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Extends the leases of this process's running jobs, and its own entry in jobs.server.</summary>
    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var ids = _running.Keys.ToArray();
        var now = time.GetUtcNow();
        await using var batch = dataSource.CreateBatch();
        if (ids.Length > 0)
        {
            var leases = new NpgsqlBatchCommand("UPDATE jobs.job SET lease_until = $3 WHERE id = ANY($1) AND worker = $2 AND state = 'processing'");
            leases.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
            leases.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
            leases.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + options.Lease });
            batch.BatchCommands.Add(leases);
        }
        var server = new NpgsqlBatchCommand("UPDATE jobs.server SET heartbeat_at = $2 WHERE id = $1");
        server.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
        server.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        batch.BatchCommands.Add(server);
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Takes back jobs whose lease ran out (their worker died or hangs): another attempt, or dead if none is left.</summary>
    private async Task RescueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var cmd = dataSource.CreateCommand("""
            WITH expired AS (
              SELECT id, worker, started_at FROM jobs.job WHERE state = 'processing' AND lease_until < $1 FOR UPDATE SKIP LOCKED),
            u AS (
              UPDATE jobs.job j SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'dead' ELSE 'failed' END, run_at = $1,
                     finished_at = CASE WHEN j.attempt >= j.max_attempts THEN $1 END, worker = NULL, lease_until = NULL,
                     last_error = 'Lease expired: worker ' || e.worker || ' stopped renewing it (killed, or hung).'
              FROM expired e WHERE j.id = e.id
              RETURNING j.id, j.attempt, j.queue, j.state, e.worker, e.started_at, j.last_error),
            a AS (
              INSERT INTO jobs.attempt (job_id, attempt, worker, started_at, finished_at, outcome, error)
              SELECT id, attempt, worker, started_at, $1, 'rescued', last_error FROM u)
            SELECT u.queue, pg_notify('chatstats_jobs', u.queue) FROM u
            """);
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            JobsMetrics.Rescued.Add(1, new KeyValuePair<string, object?>("queue", reader.GetString(0)));
            logger.LogWarning("Rescued a job of queue {Queue} whose worker stopped renewing its lease", reader.GetString(0));
        }
    }

    /// <summary>Counts jobs by queue and state for the metrics (a grouped scan of the partial indexes' worth of rows).</summary>
    internal async Task CountAsync(CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT queue, state, count(*) FROM jobs.job GROUP BY 1, 2"));
        var oldest = new NpgsqlBatchCommand("""
            SELECT queue, extract(epoch FROM $1 - min(run_at))::float8 FROM jobs.job
            WHERE state IN ('scheduled', 'enqueued', 'failed') AND run_at <= $1 GROUP BY 1
            """);
        oldest.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        batch.BatchCommands.Add(oldest);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var counts = new List<(string, string, long)>();
        while (await reader.ReadAsync(ct))
        {
            counts.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }
        await reader.NextResultAsync(ct);
        var ages = new Dictionary<string, double>();
        while (await reader.ReadAsync(ct))
        {
            ages[reader.GetString(0)] = reader.GetDouble(1);
        }
        JobsMetrics.Counts = counts;
        JobsMetrics.OldestDueAge = ages;
    }

    /// <summary>LISTEN on a connection of its own; a notification wakes an idle slot of that queue.</summary>
    private async Task ListenAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stop);
                connection.Notification += (_, e) =>
                {
                    if (_wake.TryGetValue(e.Payload, out var wake) && wake.CurrentCount < 8)
                    {
                        wake.Release();
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {JobsSchema.NotifyChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stop);
                }
                while (!stop.IsCancellationRequested)
                {
                    await connection.WaitAsync(stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                // Polling still finds work; listen again shortly.
                logger.LogWarning("Job notifications interrupted ({Error}); polling every {Interval} until they are back", ex.Message, options.PollInterval);
                await Task.Delay(options.PollInterval * 5, time, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task EveryAsync(TimeSpan interval, Func<CancellationToken, Task> action, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stop))
        {
            try
            {
                await action(stop);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stop.IsCancellationRequested)
            {
                logger.LogWarning("Job housekeeping failed, retrying: {Error}", ex.Message);
            }
        }
    }

    private async Task RegisterAsync(CancellationToken ct)
    {
        var queues = JsonSerializer.Serialize(Queues.ToDictionary(q => q, q => options.Queue(q).Workers));
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO jobs.server (id, host, pid, queues, started_at, heartbeat_at) VALUES ($1, $2, $3, $4::jsonb, $5, $5)
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
            """);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Dns.GetHostName() });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = queues });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await cmd.ExecuteNonQueryAsync(ct);
                return;
            }
            catch (NpgsqlException ex) when (attempt < 60 && !ct.IsCancellationRequested)
            {
                logger.LogWarning("Job worker cannot reach the database yet ({Error}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
            }
        }
    }

    /// <summary>After the last claim: running jobs get the grace period, the rest are cancelled and returned to their queue.</summary>
    private async Task DrainAsync()
    {
        var running = _running.Values.Select(r => r.Completion).ToArray();
        if (running.Length > 0)
        {
            logger.LogInformation("Stopping: {Count} job(s) running, waiting up to {Grace} for them", running.Length, options.ShutdownGrace);
            await Task.WhenAny(Task.WhenAll(running), Task.Delay(options.ShutdownGrace, time));
        }
        var left = _running.Values.Select(r => r.Job).ToArray();
        await _shutdown.CancelAsync();
        try
        {
            await using var batch = dataSource.CreateBatch();
            if (left.Length > 0)
            {
                var back = new NpgsqlBatchCommand("""
                    WITH u AS (
                      UPDATE jobs.job SET state = 'enqueued', attempt = attempt - 1, worker = NULL, lease_until = NULL, run_at = $3
                      WHERE id = ANY($1) AND worker = $2 AND state = 'processing'
                      RETURNING id, attempt + 1 AS attempt, started_at, queue),
                    a AS (
                      INSERT INTO jobs.attempt (job_id, attempt, worker, started_at, finished_at, outcome, error)
                      SELECT id, attempt, $2, started_at, $3, 'interrupted', 'The worker shut down; the job went back to its queue.' FROM u)
                    SELECT pg_notify('chatstats_jobs', queue) FROM u
                    """);
                back.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. left.Select(j => j.Id)] });
                back.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
                back.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
                batch.BatchCommands.Add(back);
                logger.LogWarning("Returned {Count} unfinished job(s) to their queue", left.Length);
            }
            var server = new NpgsqlBatchCommand("DELETE FROM jobs.server WHERE id = $1");
            server.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Id });
            batch.BatchCommands.Add(server);
            await batch.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.LogError("Could not return unfinished jobs ({Error}); they will be rescued when their leases run out", ex.Message);
        }
        foreach (var r in left)
        {
            JobsMetrics.Finished.Add(1, new KeyValuePair<string, object?>("queue", r.Queue), new KeyValuePair<string, object?>("outcome", "interrupted"));
        }
    }

    public override void Dispose()
    {
        _shutdown.Dispose();
        base.Dispose();
    }
}
