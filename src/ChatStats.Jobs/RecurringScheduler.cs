using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ChatStats.Jobs;

/// <summary>
/// Enqueues recurring jobs when due. Any number of processes run it; each tick takes a transaction-scoped advisory
/// lock first, so one of them at a time is the leader and the others skip the tick. A recurring job that missed
/// several occurrences during downtime runs once, and its next run is the next occurrence after now.
/// </summary>
public sealed class RecurringScheduler(NpgsqlDataSource dataSource, JobClient client, JobsOptions options, TimeProvider time, ILogger<RecurringScheduler> logger)
    : BackgroundService
{
    /// <summary>The advisory lock key of the scheduler's leader (an arbitrary constant: "chatstat" in ASCII).</summary>
    public const long LeaderLock = 0x6368_6174_7374_6174;

    /// <summary>Set by the host to hold recurring work while the process is under pressure.</summary>
    public Func<bool>? Paused { get; set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SchedulerInterval, time);
        do
        {
            try
            {
                await TickAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Recurring jobs not checked: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One tick: returns how many recurring jobs were enqueued (0 when another process leads this tick).</summary>
    public async Task<int> TickAsync(CancellationToken ct)
    {
        if (Paused?.Invoke() == true)
        {
            return 0;
        }
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var lead = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock($1)", connection, tx))
        {
            lead.Parameters.Add(new NpgsqlParameter<long> { TypedValue = LeaderLock });
            if (await lead.ExecuteScalarAsync(ct) is not true)
            {
                return 0;
            }
        }
        var now = time.GetUtcNow();
        var due = new List<(string Name, string Cron, string Zone, string Type, string Args, string Queue)>();
        await using (var select = new NpgsqlCommand("""
            SELECT name, cron, time_zone, type, args::text, queue FROM jobs.recurring WHERE next_run_at <= $1 ORDER BY next_run_at FOR UPDATE
            """, connection, tx))
        {
            select.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                due.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
            }
        }
        foreach (var r in due)
        {
            var zone = TimeZoneInfo.TryFindSystemTimeZoneById(r.Zone, out var z) ? z : TimeZoneInfo.Utc;
            var next = Cron.Next(Cron.Parse(r.Cron), zone, now);
            // Unique per recurring job: a run still pending or running is not doubled.
            var job = await client.EnqueueAsync(r.Type, System.Text.Encoding.UTF8.GetBytes(r.Args),
                new EnqueueOptions { Queue = r.Queue, UniqueKey = $"recurring:{r.Name}" }, ct, connection, tx, r.Name);
            await using var update = new NpgsqlCommand("UPDATE jobs.recurring SET next_run_at = $2, last_run_at = $3, last_job_id = $4 WHERE name = $1", connection, tx);
            update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = r.Name });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = next });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
            await update.ExecuteNonQueryAsync(ct);
            logger.LogInformation("Recurring job {Name} enqueued as {JobId}; next at {Next:u}", r.Name, job.Id, next);
        }
        await tx.CommitAsync(ct);
        return due.Count;
    }
}
