using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatStats.Bot.Jobs;
using ChatStats.Testing;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// Hangfire as ChatStats configures it, with the no-op <see cref="PingJob"/>. Throughput: N pings enqueued by this
/// process, drained by a <c>chatstats worker</c> child process as deployed (Jobs:Queues:default:Workers workers, the
/// Jobs:MaxConnections bound), timed by the storage's own state times from the first start to the last success.
/// Latency when idle: one ping at a time, enqueue here → start in the worker process (found by polling), and enqueue →
/// start inside one process (woken at once). With <c>--against-bench DIR</c> another commit's benchmark (the old job
/// queue's) runs interleaved in the same minutes, on the same server.
/// </summary>
internal static partial class JobsLoadRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var jobs = IngestLoadRun.Option(args, "--jobs", 5_000);
        var workers = IngestLoadRun.Option(args, "--workers", 20);
        var maxConnections = IngestLoadRun.Option(args, "--max-connections", new JobsOptions().MaxConnections);
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        var samples = IngestLoadRun.Option(args, "--latency-samples", 100);
        var against = IngestLoadRun.Text(args, "--against-bench");
        var againstLabel = IngestLoadRun.Text(args, "--against-label") ?? "other build";
        IngestLoadRun.UseBenchServer();
        var options = new JobsOptions { MaxConnections = maxConnections };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{jobs:N0} no-op jobs per run, {workers} workers, Jobs:MaxConnections {maxConnections}, poll interval {options.QueuePollIntervalMilliseconds} ms"));

        var results = new List<Result>();
        var old = new List<Result>();
        for (var run = 1; run <= runs; run++)
        {
            if (against is not null && run % 2 == 0)
            {
                old.Add(await AgainstAsync(against, jobs, workers, samples));
                Console.WriteLine($"run {run}: {againstLabel}: {old[^1]}");
            }
            results.Add(await MeasureAsync(jobs, workers, options, samples));
            Console.WriteLine($"run {run}: this build: {results[^1]}");
            if (against is not null && run % 2 == 1)
            {
                old.Add(await AgainstAsync(against, jobs, workers, samples));
                Console.WriteLine($"run {run}: {againstLabel}: {old[^1]}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        Row("Hangfire: no-op jobs/s, worker process", results.Select(r => r.Rate), "N0");
        Row("Hangfire: enqueue → start across processes, p50 ms (idle)", results.Select(r => r.CrossP50), "F1");
        Row("Hangfire: enqueue → start across processes, p95 ms (idle)", results.Select(r => r.CrossP95), "F1");
        Row("Hangfire: enqueue → start in one process, p50 ms (idle)", results.Select(r => r.LocalP50), "F1");
        Row("Hangfire: enqueue → start in one process, p95 ms (idle)", results.Select(r => r.LocalP95), "F1");
        Row("Hangfire: worker's connections at most (chatstats-jobs)", results.Select(r => (double)r.PeakConnections), "N0");
        if (old.Count > 0)
        {
            Row($"{againstLabel}: no-op jobs/s, one process", old.Select(r => r.Rate), "N0");
            Row($"{againstLabel}: enqueue → start in one process, p50 ms (idle)", old.Select(r => r.LocalP50), "F1");
            Row($"{againstLabel}: enqueue → start in one process, p95 ms (idle)", old.Select(r => r.LocalP95), "F1");
        }
        return 0;
    }

    private sealed record Result(double Rate, double CrossP50, double CrossP95, double LocalP50, double LocalP95, int PeakConnections)
    {
        public override string ToString() => double.IsNaN(CrossP50)
            ? string.Create(CultureInfo.InvariantCulture, $"{Rate:N0} no-op jobs/s; enqueue→start in one process p50 {LocalP50:F1} ms, p95 {LocalP95:F1} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{Rate:N0} no-op jobs/s (worker held at most {PeakConnections} connections); enqueue→start across processes p50 {CrossP50:F1} ms, p95 {CrossP95:F1} ms; in one process p50 {LocalP50:F1} ms, p95 {LocalP95:F1} ms");
    }

    private static async Task<Result> MeasureAsync(int jobs, int workers, JobsOptions options, int samples)
    {
        var cs = await PostgresServer.CreateDatabaseAsync("jobs");
        // This process's connections under a name of their own, so the worker's (chatstats-jobs) are counted alone.
        using var source = new JobsDataSource(NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(cs) { ApplicationName = "bench-client", Enlist = false }.ConnectionString));
        var storage = source.CreateStorage(options);
        var client = new BackgroundJobClient(storage);

        // Throughput: everything enqueued first, then drained by the worker process.
        var ids = new long[jobs];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < jobs;)
            {
                ids[i] = long.Parse(client.Enqueue<PingJob>(JobsOptions.DefaultQueue, job => job.RunAsync()), CultureInfo.InvariantCulture);
            }
        })));
        using var worker = IngestLoadRun.StartBot(AppContext.BaseDirectory, "worker", cs, new Dictionary<string, string>
        {
            ["Jobs__Queues__default__Workers"] = workers.ToString(CultureInfo.InvariantCulture),
            ["Jobs__MaxConnections"] = options.MaxConnections.ToString(CultureInfo.InvariantCulture),
        });
        var peak = 0;
        await using (var db = NpgsqlDataSource.Create(cs))
        {
            await IngestLoadRun.WaitAsync(() =>
            {
                peak = Math.Max(peak, Scalar<int>(db, $"SELECT count(*)::int FROM pg_stat_activity WHERE application_name = '{JobsDataSource.ApplicationName}'"));
                return Scalar<long>(db, $"SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded' AND id BETWEEN {ids.Min()} AND {ids.Max()}") == jobs;
            }, worker, TimeSpan.FromMinutes(10));
            var seconds = Scalar<double>(db, $"""
                SELECT extract(epoch FROM max(createdat) FILTER (WHERE name = 'Succeeded') - min(createdat) FILTER (WHERE name = 'Processing'))::float8
                FROM hangfire.state WHERE jobid BETWEEN {ids.Min()} AND {ids.Max()}
                """);
            var rate = jobs / seconds;

            // Idle: one ping at a time, at random moments so the samples do not lock onto the workers' poll phase.
            var cross = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                await Task.Delay(Random.Shared.Next(20, 300));
                cross.Add(await OneAsync(client, db, JobsOptions.DefaultQueue, worker));
            }
            IngestLoadRun.Stop(worker);

            // Enqueue and start in one process: Hangfire.PostgreSql wakes this process's idle workers itself.
            var local = new List<double>();
            using (new BackgroundJobServer(new BackgroundJobServerOptions { Queues = ["local"], WorkerCount = 2, ServerName = "bench-local" }, storage))
            {
                for (var i = 0; i < samples; i++)
                {
                    await Task.Delay(Random.Shared.Next(20, 100));
                    local.Add(await OneAsync(client, db, "local", null));
                }
            }
            cross.Sort();
            local.Sort();
            return new Result(rate, Percentile(cross, 0.5), Percentile(cross, 0.95), Percentile(local, 0.5), Percentile(local, 0.95), peak);
        }
    }

    /// <summary>Enqueue one ping and wait for its success; the delay is the storage's Processing time minus its Enqueued time.</summary>
    private static async Task<double> OneAsync(BackgroundJobClient client, NpgsqlDataSource db, string queue, Process? worker)
    {
        var id = client.Create(Job.FromExpression<PingJob>(job => job.RunAsync(), queue), new EnqueuedState(queue));
        double? ms = null;
        await IngestLoadRun.WaitAsync(() => (ms = Scalar<double?>(db, $"""
            SELECT extract(epoch FROM p.createdat - e.createdat)::float8 * 1000
            FROM hangfire.state e JOIN hangfire.state p ON p.jobid = e.jobid AND p.name = 'Processing'
            WHERE e.jobid = {id} AND e.name = 'Enqueued'
            """)) is not null, worker, TimeSpan.FromSeconds(30));
        return ms!.Value;
    }

    /// <summary>The other commit's own jobs benchmark, one run, read from its output.</summary>
    private static async Task<Result> AgainstAsync(string dir, int jobs, int workers, int samples)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(dir, "ChatStats.Benchmarks.dll"), "jobs", "--runs", "1", "--jobs", jobs.ToString(CultureInfo.InvariantCulture),
                     "--workers", workers.ToString(CultureInfo.InvariantCulture), "--latency-samples", samples.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = RunLine().Match(output);
        if (process.ExitCode != 0 || !line.Success)
        {
            throw new InvalidOperationException($"the other build's jobs benchmark failed ({process.ExitCode}): {output}{error}");
        }
        double Number(string group) => double.Parse(line.Groups[group].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        return new Result(Number("rate"), double.NaN, double.NaN, Number("p50"), Number("p95"), 0);
    }

    [GeneratedRegex(@"run 1: (?<rate>[\d,.]+) no-op jobs/s .*p50 (?<p50>[\d.]+) ms, p95 (?<p95>[\d.]+) ms")]
    private static partial Regex RunLine();

    private static T Scalar<T>(NpgsqlDataSource db, string sql)
    {
        using var cmd = db.CreateCommand(sql);
        return cmd.ExecuteScalar() is T value ? value : default!;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Max(0, (int)Math.Ceiling(sorted.Count * p) - 1)];

    private static void Row(string name, IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {IngestLoadRun.Median(list).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", list.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));
    }
}
