using System.Diagnostics;
using ChatStats.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatStats.Jobs.Tests;

/// <summary>Worker processes as deployed: killed with SIGKILL, and side by side on one queue.</summary>
public sealed class WorkerProcessTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    private readonly List<Process> _processes = [];

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        await _db.ExecuteAsync("CREATE TABLE test_runs (job_id bigint, attempt int, label text, pid int, started_at timestamptz, ended_at timestamptz)");
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes.Where(p => !p.HasExited))
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        await _db.DisposeAsync();
    }

    private Process StartWorker(string queue, int workers, int leaseSeconds)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ChatStats.Jobs.TestWorker.dll"));
        start.ArgumentList.Add(_db.ConnectionString);
        start.ArgumentList.Add(queue);
        start.ArgumentList.Add(workers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add(leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    private async Task<long> EnqueueSleepAsync(string queue, double seconds, string label, int maxAttempts = 3, string? concurrencyKey = null) =>
        await _db.ScalarAsync<long>("""
            INSERT INTO jobs.job (queue, type, args, state, max_attempts, run_at, created_at, concurrency_key)
            VALUES ($1, 'sleep', jsonb_build_object('seconds', $2::float8, 'label', $3::text), 'enqueued', $4, now(), now(), $5) RETURNING id
            """, queue, seconds, label, maxAttempts, (object?)concurrencyKey ?? DBNull.Value);

    private static Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 60) => Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds));

    [Fact]
    public async Task AJobOfAKilledWorkerIsPickedUpAgainAndRunsAtMostMaxAttemptsTimes()
    {
        var first = StartWorker("default", 1, leaseSeconds: 2);
        var id = await EnqueueSleepAsync("default", 60, "crash", maxAttempts: 2);
        await UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = $1", id) == 1, "attempt 1 to start");
        first.Kill(); // SIGKILL: no shutdown, no goodbye
        var killedAt = Stopwatch.StartNew();

        var second = StartWorker("default", 1, leaseSeconds: 2);
        await UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = $1", id) == 2, "attempt 2 to start in the second worker");
        var pickedUpAfter = killedAt.Elapsed;
        second.Kill();
        var third = StartWorker("default", 1, leaseSeconds: 2);
        // Dead jobs are never claimed: no third run can follow.
        await UntilAsync(async () => await _db.ScalarAsync<string>("SELECT state FROM jobs.job WHERE id = $1", id) == "dead", "the job to die after its second lost attempt");

        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT count(*) FROM test_runs WHERE job_id = $1", id));
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.attempt WHERE job_id = $1 AND outcome = 'rescued'", id));
        Assert.Contains("Lease expired", await _db.ScalarAsync<string>("SELECT last_error FROM jobs.job WHERE id = $1", id));
        // Lease 2 s, rescue every 1 s, plus the new process's start: well within a minute; the figure goes to the log.
        Console.WriteLine($"picked up {pickedUpAfter.TotalSeconds:F1} s after SIGKILL");
        _ = third;
    }

    [Fact]
    public async Task TwoProcessesWithTwoWorkersRunAtMostFourAndOneJobPerConcurrencyKey()
    {
        StartWorker("reports", 2, leaseSeconds: 10);
        StartWorker("reports", 2, leaseSeconds: 10);
        var ids = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(await EnqueueSleepAsync("reports", 0.8, $"free{i}"));
        }
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await EnqueueSleepAsync("reports", 0.8, $"chat{i}", concurrencyKey: "chat:-100"));
        }
        await UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE state = 'succeeded'") == ids.Count, "every job to finish", 90);

        var overall = await _db.ScalarAsync<long>("""
            SELECT max(c) FROM (SELECT (SELECT count(*) FROM test_runs o WHERE o.started_at <= r.started_at AND o.ended_at > r.started_at) AS c FROM test_runs r) x
            """);
        var perProcess = await _db.ScalarAsync<long>("""
            SELECT max(c) FROM (SELECT (SELECT count(*) FROM test_runs o WHERE o.pid = r.pid AND o.started_at <= r.started_at AND o.ended_at > r.started_at) AS c FROM test_runs r) x
            """);
        var sameKey = await _db.ScalarAsync<long>("""
            SELECT max(c) FROM (SELECT (SELECT count(*) FROM test_runs o WHERE o.label LIKE 'chat%' AND o.started_at <= r.started_at AND o.ended_at > r.started_at) AS c
                                FROM test_runs r WHERE r.label LIKE 'chat%') x
            """);
        Assert.InRange(overall, 2, 4);
        Assert.InRange(perProcess, 1, 2);
        Assert.Equal(1, sameKey);
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT count(DISTINCT pid) FROM test_runs"));
    }
}
