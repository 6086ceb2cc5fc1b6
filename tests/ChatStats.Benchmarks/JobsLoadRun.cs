using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatStats.Jobs;
using ChatStats.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ChatStats.Benchmarks;

public sealed record NoopArgs(int N);

public sealed class NoopJob(JobsLoadRun.Counter counter) : IJob<NoopArgs>
{
    public Task RunAsync(NoopArgs args, JobContext context)
    {
        counter.Done(context.Id);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The job queue through one worker process: no-op jobs per second (N enqueued, then drained by the default queue's
/// workers), and enqueue-to-start latency when idle (one job at a time, woken by LISTEN/NOTIFY). The baseline is the
/// same number of single-row UPDATEs on the same database: what a claim-and-finish costs at the least.
/// </summary>
public static class JobsLoadRun
{
    public sealed class Counter
    {
        private int _done;
        public ConcurrentDictionary<long, long> Started { get; } = new();
        public int DoneCount => Volatile.Read(ref _done);

        public void Done(long id)
        {
            Started[id] = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _done);
        }
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var jobs = IngestLoadRun.Option(args, "--jobs", 20_000);
        var workers = IngestLoadRun.Option(args, "--workers", 16);
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        var samples = IngestLoadRun.Option(args, "--latency-samples", 200);
        if (Environment.GetEnvironmentVariable("CHATSTATS_BENCH_SERVER_URL") is { } server)
        {
            Environment.SetEnvironmentVariable(PostgresServer.UrlVariable, server);
        }
        var rates = new List<double>();
        var baselines = new List<double>();
        var p50s = new List<double>();
        var p95s = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var cs = await PostgresServer.CreateDatabaseAsync("jobs");
            await using var dataSource = new NpgsqlDataSourceBuilder(cs) { ConnectionStringBuilder = { MaxPoolSize = workers + 8 } }.Build();
            baselines.Add(await BaselineAsync(dataSource, jobs));
            var counter = new Counter();
            using var host = Build(dataSource, counter, workers);
            var client = host.Services.GetRequiredService<JobClient>();

            // Throughput: enqueue everything, then let the workers drain it.
            await using (var cmd = dataSource.CreateCommand($"""
                INSERT INTO jobs.job (queue, type, args, state, max_attempts, run_at, created_at)
                SELECT 'default', 'noop', jsonb_build_object('n', g), 'enqueued', 3, now(), now() FROM generate_series(1, {jobs}) g
                """))
            {
                await cmd.ExecuteNonQueryAsync();
            }
            var started = Stopwatch.GetTimestamp();
            await host.StartAsync();
            while (await SucceededAsync(dataSource) < jobs)
            {
                await Task.Delay(20);
            }
            var rate = jobs / Stopwatch.GetElapsedTime(started).TotalSeconds;
            rates.Add(rate);

            // Latency when idle: one job at a time, from enqueue to the job's first line, once every slot is free.
            var worker = host.Services.GetRequiredService<JobWorker>();
            while (worker.RunningCount > 0)
            {
                await Task.Delay(10);
            }
            var latencies = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                var before = Stopwatch.GetTimestamp();
                var job = await client.EnqueueAsync<NoopJob, NoopArgs>(new NoopArgs(i));
                long at;
                while (!counter.Started.TryGetValue(job.Id, out at))
                {
                    await Task.Delay(1);
                }
                latencies.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
                await Task.Delay(50);
            }
            latencies.Sort();
            p50s.Add(latencies[latencies.Count / 2]);
            p95s.Add(latencies[(int)Math.Ceiling(latencies.Count * 0.95) - 1]);
            await host.StopAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: {rate:N0} no-op jobs/s with {workers} workers; enqueue→start p50 {p50s[^1]:F1} ms, p95 {p95s[^1]:F1} ms; baseline {baselines[^1]:N0} single-row updates/s"));
        }
        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        Row("no-op jobs/s, one process", rates, "N0");
        Row("baseline: single-row UPDATE round trips/s, same pool", baselines, "N0");
        Row("enqueue → start p50, ms (idle)", p50s, "F1");
        Row("enqueue → start p95, ms (idle)", p95s, "F1");
        return 0;
    }

    private static void Row(string name, List<double> values, string format) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {IngestLoadRun.Median(values).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));

    private static IHost Build(NpgsqlDataSource dataSource, Counter counter, int workers)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(counter);
        builder.Services.AddJobs(_ => new JobsOptions
        {
            Queues = new Dictionary<string, QueueOptions> { ["default"] = new() { Workers = workers } },
            SchedulerInterval = TimeSpan.FromHours(1),
        });
        builder.Services.AddJob<NoopJob, NoopArgs>("noop");
        builder.Services.AddJobWorkers();
        return builder.Build();
    }

    private static async Task<long> SucceededAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM jobs.job WHERE state = 'succeeded'");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<double> BaselineAsync(NpgsqlDataSource dataSource, int count)
    {
        await using (var setup = dataSource.CreateCommand("CREATE TABLE bench_rows (id int PRIMARY KEY, n int); INSERT INTO bench_rows SELECT g, 0 FROM generate_series(1, 1000) g"))
        {
            await setup.ExecuteNonQueryAsync();
        }
        var started = Stopwatch.GetTimestamp();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                await using var cmd = dataSource.CreateCommand("UPDATE bench_rows SET n = n + 1 WHERE id = $1");
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 1 + next % 1000 });
                await cmd.ExecuteNonQueryAsync();
            }
        }));
        return count / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }
}
