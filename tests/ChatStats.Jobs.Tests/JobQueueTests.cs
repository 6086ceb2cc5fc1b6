using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Jobs.Tests;

public sealed record NoteArgs(string Label);

/// <summary>Test jobs; what they did is kept in <see cref="Journal"/>.</summary>
public sealed class Journal
{
    public ConcurrentBag<(long Id, int Attempt, string Label)> Runs { get; } = [];
    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new();
    public TaskCompletionSource Gate(string label) => Gates.GetOrAdd(label, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
}

public sealed class NoteJob(Journal journal) : IJob<NoteArgs>
{
    public Task RunAsync(NoteArgs args, JobContext context)
    {
        journal.Runs.Add((context.Id, context.Attempt, args.Label));
        return Task.CompletedTask;
    }
}

public sealed class FailingJob(Journal journal) : IJob<NoteArgs>
{
    public Task RunAsync(NoteArgs args, JobContext context)
    {
        journal.Runs.Add((context.Id, context.Attempt, args.Label));
        throw args.Label.StartsWith("hopeless", StringComparison.Ordinal)
            ? new PermanentJobFailureException($"{args.Label}: no retry can fix this")
            : new InvalidOperationException($"{args.Label} failed on attempt {context.Attempt}");
    }
}

/// <summary>Waits for its gate (or cancellation, if the label says it honours it).</summary>
public sealed class GatedJob(Journal journal) : IJob<NoteArgs>
{
    public async Task RunAsync(NoteArgs args, JobContext context)
    {
        journal.Runs.Add((context.Id, context.Attempt, args.Label));
        var gate = journal.Gate(args.Label).Task;
        if (args.Label.StartsWith("polite", StringComparison.Ordinal))
        {
            await gate.WaitAsync(context.Cancellation);
        }
        else
        {
            await gate;
        }
    }
}

public sealed class JobQueueTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    private readonly List<IHost> _hosts = [];
    private readonly Journal _journal = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var gate in _journal.Gates.Values)
        {
            gate.TrySetResult();
        }
        foreach (var host in _hosts)
        {
            try
            {
                await host.StopAsync(TimeSpan.FromSeconds(10));
            }
            catch (OperationCanceledException)
            {
            }
            host.Dispose();
        }
        await _db.DisposeAsync();
    }

    private static JobsOptions Options(int workers = 2, int soft = 30, int hard = 60, int attempts = 3, double lease = 2, double poll = 0.2) => new()
    {
        Queues = new Dictionary<string, QueueOptions>
        {
            ["default"] = new() { Workers = workers, SoftTimeoutSeconds = soft, TimeoutSeconds = hard, MaxAttempts = attempts },
        },
        Lease = TimeSpan.FromSeconds(lease),
        RescueInterval = TimeSpan.FromMilliseconds(300),
        PollInterval = TimeSpan.FromSeconds(poll),
        ShutdownGrace = TimeSpan.FromSeconds(1),
        RetryBase = TimeSpan.FromMilliseconds(100),
        SchedulerInterval = TimeSpan.FromHours(1),
    };

    private async Task<IHost> StartAsync(JobsOptions options, bool workers = true, TimeProvider? time = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(_db.DataSource);
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.Services.AddSingleton(_journal);
        builder.Services.AddJobs(_ => options);
        builder.Services.AddJob<NoteJob, NoteArgs>("note");
        builder.Services.AddJob<FailingJob, NoteArgs>("failing");
        builder.Services.AddJob<GatedJob, NoteArgs>("gated");
        if (workers)
        {
            builder.Services.AddJobWorkers();
        }
        var host = builder.Build();
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    private static JobClient Client(IHost host) => host.Services.GetRequiredService<JobClient>();

    private Task<string> StateAsync(long id) => _db.ScalarAsync<string>("SELECT state FROM jobs.job WHERE id = $1", id);

    private Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 60) => Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds));

    [Fact]
    public async Task ThirtyTwoWorkersOverTenThousandJobsNeverClaimAnAttemptTwice()
    {
        var enqueuer = await StartAsync(Options(), workers: false);
        await _db.ExecuteAsync("""
            INSERT INTO jobs.job (queue, type, args, state, max_attempts, run_at, created_at)
            SELECT 'default', 'note', jsonb_build_object('label', 'n' || g), 'enqueued', 3, now(), now() FROM generate_series(1, 10000) g
            """);

        await StartAsync(Options(workers: 16));
        await StartAsync(Options(workers: 16));
        await UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE state = 'succeeded'") == 10_000, "every job to succeed", 120);

        var runs = _journal.Runs.ToList();
        Assert.Equal(10_000, runs.Count);
        Assert.Equal(10_000, runs.Select(r => r.Id).Distinct().Count());
        Assert.All(runs, r => Assert.Equal(1, r.Attempt));
        Assert.Equal(10_000, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.attempt WHERE outcome = 'succeeded'"));
        _ = enqueuer;
    }

    [Fact]
    public async Task AJobThatKeepsHeartbeatingRunsOnceEvenForThreeTimesItsLease()
    {
        // The worker's clock is a manual one: leases, heartbeats and the rescue all follow it, a third of a lease a step.
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var host = await StartAsync(Options(lease: 3) with { RescueInterval = TimeSpan.FromSeconds(1) }, time: clock);
        var job = await Client(host).EnqueueAsync<GatedJob, NoteArgs>(new NoteArgs("long"));
        await UntilAsync(async () => await StateAsync(job.Id) == "processing", "the job to start");

        for (var step = 0; step < 10; step++)
        {
            var before = await _db.ScalarAsync<DateTime>("SELECT lease_until FROM jobs.job WHERE id = $1", job.Id);
            clock.Advance(TimeSpan.FromSeconds(1));
            await UntilAsync(async () => await _db.ScalarAsync<DateTime>("SELECT lease_until FROM jobs.job WHERE id = $1", job.Id) > before, $"heartbeat {step + 1}");
        }
        _journal.Gate("long").SetResult();
        await UntilAsync(async () => await StateAsync(job.Id) == "succeeded", "the job to succeed");

        Assert.Single(_journal.Runs);
        Assert.Equal(1, await _db.ScalarAsync<int>("SELECT attempt FROM jobs.job WHERE id = $1", job.Id));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.attempt WHERE outcome = 'rescued'"));
        var started = DateTime.SpecifyKind(await _db.ScalarAsync<DateTime>("SELECT started_at FROM jobs.job WHERE id = $1", job.Id), DateTimeKind.Utc);
        Assert.True(clock.GetUtcNow().UtcDateTime - started >= TimeSpan.FromSeconds(9), "the job ran for at least three leases");
    }

    [Fact]
    public async Task ALateFinishFromAWorkerWhoseJobWasTakenBackChangesNothing()
    {
        var first = await StartAsync(Options(workers: 1));
        var job = await Client(first).EnqueueAsync<GatedJob, NoteArgs>(new NoteArgs("late"));
        await UntilAsync(async () => await StateAsync(job.Id) == "processing", "attempt 1 to start");
        // As the rescue would after a lost lease: the job is taken from the first worker and another one runs it.
        await _db.ExecuteAsync("UPDATE jobs.job SET state = 'failed', worker = NULL, lease_until = NULL, run_at = now() WHERE id = $1", job.Id);
        await StartAsync(Options(workers: 1));
        await UntilAsync(() => Task.FromResult(_journal.Runs.Count == 2), "attempt 2 to start in the second worker", 30);
        _journal.Gate("late").SetResult();
        await UntilAsync(async () => await StateAsync(job.Id) == "succeeded", "the job to succeed");
        await UntilAsync(() => Task.FromResult(first.Services.GetRequiredService<JobWorker>().RunningCount == 0), "attempt 1's late finish");

        Assert.Equal(2, await _db.ScalarAsync<int>("SELECT attempt FROM jobs.job WHERE id = $1", job.Id));
        // One recorded finish: attempt 2's. Attempt 1's late success found the job no longer its own.
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.attempt WHERE job_id = $1", job.Id));
        Assert.Equal(2, await _db.ScalarAsync<int>("SELECT attempt FROM jobs.attempt WHERE job_id = $1", job.Id));
    }

    [Fact]
    public async Task TheSoftTimeoutCancelsAndTheHardTimeoutFreesTheSlotOfAJobThatIgnoresIt()
    {
        var host = await StartAsync(Options(workers: 1, soft: 1, hard: 2, attempts: 1));
        var client = Client(host);
        var polite = await client.EnqueueAsync<GatedJob, NoteArgs>(new NoteArgs("polite"));
        await UntilAsync(async () => await StateAsync(polite.Id) == "dead", "the polite job to stop at its soft timeout");
        var stubborn = await client.EnqueueAsync<GatedJob, NoteArgs>(new NoteArgs("stubborn"));
        var after = await client.EnqueueAsync<NoteJob, NoteArgs>(new NoteArgs("after"));
        await UntilAsync(async () => await StateAsync(after.Id) == "succeeded", "the next job to get the freed slot");

        Assert.Contains("Cancelled at the soft timeout (1 s).", await _db.ScalarAsync<string>("SELECT error FROM jobs.attempt WHERE job_id = $1", polite.Id));
        Assert.Equal("timeout", await _db.ScalarAsync<string>("SELECT outcome FROM jobs.attempt WHERE job_id = $1", polite.Id));
        Assert.Equal("dead", await StateAsync(stubborn.Id));
        Assert.StartsWith("Hard timeout: still running after 2 s", await _db.ScalarAsync<string>("SELECT error FROM jobs.attempt WHERE job_id = $1", stubborn.Id));
        Assert.False(_journal.Gate("stubborn").Task.IsCompleted); // its code is still running, reported as stuck
    }

    [Theory]
    [InlineData(1, 10, 8, 12)]
    [InlineData(2, 10, 16, 24)]
    [InlineData(4, 10, 64, 96)]
    [InlineData(20, 10, 2880, 4320)] // capped at an hour, ±20 %
    public void RetryDelaysGrowExponentiallyWithinTheirJitter(int attempt, double baseSeconds, double min, double max)
    {
        var options = new JobsOptions { RetryBase = TimeSpan.FromSeconds(baseSeconds) };
        Assert.InRange(options.RetryDelay(attempt, 0).TotalSeconds, min - 0.001, min + 0.001);
        Assert.InRange(options.RetryDelay(attempt, 0.999999).TotalSeconds, max - 0.01, max);
        Assert.InRange(options.RetryDelay(attempt, 0.5).TotalSeconds, (min + max) / 2 - 0.001, (min + max) / 2 + 0.001);
    }

    [Fact]
    public async Task AfterTheLastAttemptAJobIsDeadWithEveryError()
    {
        var host = await StartAsync(Options(attempts: 3));
        var job = await Client(host).EnqueueAsync<FailingJob, NoteArgs>(new NoteArgs("doomed"));
        await UntilAsync(async () => await StateAsync(job.Id) == "dead", "the job to die");

        var errors = new List<string>();
        await using (var cmd = _db.DataSource.CreateCommand($"SELECT attempt, outcome, error FROM jobs.attempt WHERE job_id = {job.Id} ORDER BY attempt"))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                errors.Add($"{reader.GetInt32(0)} {reader.GetString(1)} {reader.GetString(2)}");
            }
        }
        Assert.Equal(3, errors.Count);
        Assert.StartsWith("1 failed System.InvalidOperationException: doomed failed on attempt 1", errors[0]);
        Assert.StartsWith("2 failed System.InvalidOperationException: doomed failed on attempt 2", errors[1]);
        Assert.StartsWith("3 dead System.InvalidOperationException: doomed failed on attempt 3", errors[2]);
        Assert.All(errors, e => Assert.Contains("at ChatStats.Jobs.Tests.FailingJob.RunAsync", e));
        // Retries waited: attempt 2 started at least the minimum delay after attempt 1 ended.
        Assert.True(await _db.ScalarAsync<bool>($"""
            SELECT (SELECT started_at FROM jobs.attempt WHERE job_id = {job.Id} AND attempt = 2)
                   >= (SELECT finished_at FROM jobs.attempt WHERE job_id = {job.Id} AND attempt = 1) + interval '80 milliseconds'
            """));
    }

    [Fact]
    public async Task APermanentFailureIsDeadAtOnceWithoutRetries()
    {
        var host = await StartAsync(Options(attempts: 3));
        var job = await Client(host).EnqueueAsync<FailingJob, NoteArgs>(new NoteArgs("hopeless"));
        await UntilAsync(async () => await StateAsync(job.Id) == "dead", "the job to die");

        Assert.Single(_journal.Runs);
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.attempt WHERE job_id = $1 AND outcome = 'dead'", job.Id));
    }

    [Fact]
    public async Task AUniqueKeyReturnsThePendingJobAndIsFreeAgainAfterIt()
    {
        var host = await StartAsync(Options(), workers: false);
        var client = Client(host);
        var options = new EnqueueOptions { UniqueKey = "report:-100:30d" };

        var first = await client.EnqueueAsync<NoteJob, NoteArgs>(new NoteArgs("a"), options);
        var second = await client.EnqueueAsync<NoteJob, NoteArgs>(new NoteArgs("b"), options);
        await _db.ExecuteAsync("UPDATE jobs.job SET state = 'succeeded' WHERE id = $1", first.Id);
        var third = await client.EnqueueAsync<NoteJob, NoteArgs>(new NoteArgs("c"), options);

        Assert.True(first.Created);
        Assert.Equal(new EnqueueResult(first.Id, false), second);
        Assert.True(third.Created);
        Assert.NotEqual(first.Id, third.Id);
    }

    [Fact]
    public async Task IdleWorkersWakeOnNotificationsAndStillFindWorkWhenThoseAreLost()
    {
        // A poll interval of an hour: a job that starts at all was started by its notification.
        var host = await StartAsync(Options(poll: 3600));
        await UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN chatstats_jobs'") > 0, "the worker to listen");
        var notified = await Client(host).EnqueueAsync<NoteJob, NoteArgs>(new NoteArgs("notified"));
        await UntilAsync(async () => await StateAsync(notified.Id) == "succeeded", "the notified job", 30);

        var polling = await StartAsync(Options(poll: 0.5));
        // Inserted without pg_notify: as if the notification were lost; only polling can find it.
        var silentId = await _db.ScalarAsync<long>("""
            INSERT INTO jobs.job (queue, type, args, state, max_attempts, run_at, created_at)
            VALUES ('default', 'note', '{"label": "silent"}', 'enqueued', 3, now(), now()) RETURNING id
            """);
        await UntilAsync(async () => await StateAsync(silentId) == "succeeded", "the job nobody was told about", 30);
        _ = polling;
    }

    [Fact]
    public async Task OnShutdownRunningJobsGetTheGraceAndTheRestGoBackToTheQueueAtOnce()
    {
        var host = await StartAsync(Options(workers: 2));
        var client = Client(host);
        var quick = await client.EnqueueAsync<GatedJob, NoteArgs>(new NoteArgs("quick"));
        var slow = await client.EnqueueAsync<GatedJob, NoteArgs>(new NoteArgs("slow"));
        await UntilAsync(async () => await StateAsync(quick.Id) == "processing" && await StateAsync(slow.Id) == "processing", "both to start");

        var stopping = host.StopAsync();
        await UntilAsync(() => Task.FromResult(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested), "the stop to begin");
        _journal.Gate("quick").SetResult();
        await stopping;

        Assert.Equal("succeeded", await StateAsync(quick.Id));
        Assert.Equal("enqueued", await StateAsync(slow.Id));
        Assert.Equal(0, await _db.ScalarAsync<int>("SELECT attempt FROM jobs.job WHERE id = $1", slow.Id));
        Assert.Equal("interrupted", await _db.ScalarAsync<string>("SELECT outcome FROM jobs.attempt WHERE job_id = $1", slow.Id));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.server"));
    }

    [Fact]
    public async Task RecurringJobsAreEnqueuedByOneLeaderAndAMissedRunRunsOnce()
    {
        var a = await StartAsync(Options(), workers: false);
        var client = Client(a);
        await client.AddOrUpdateRecurringAsync<NoteJob, NoteArgs>("digest", "*/5 * * * *", TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"), new NoteArgs("digest"));
        // Down for an hour: twelve occurrences missed.
        await _db.ExecuteAsync("UPDATE jobs.recurring SET next_run_at = now() - interval '1 hour'");
        var schedulers = Enumerable.Range(0, 4).Select(_ => new RecurringScheduler(_db.DataSource, client, Options(), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<RecurringScheduler>.Instance)).ToList();

        var enqueued = await Task.WhenAll(schedulers.Select(s => s.TickAsync(CancellationToken.None)));
        var again = await schedulers[0].TickAsync(CancellationToken.None);

        Assert.Equal(1, enqueued.Sum());
        Assert.Equal(0, again);
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE recurring = 'digest'"));
        Assert.True(await _db.ScalarAsync<bool>("SELECT next_run_at > now() AND next_run_at <= now() + interval '5 minutes' FROM jobs.recurring"));
        Assert.True(await _db.ScalarAsync<bool>("SELECT extract(minute FROM next_run_at)::int % 5 = 0 FROM jobs.recurring"));
    }

    [Fact]
    public async Task MetricsCountJobsByQueueStateAndOutcome()
    {
        var measurements = new ConcurrentBag<(string Name, double Value, string Tags)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == JobsMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(System.Diagnostics.Metrics.Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            measurements.Add((i.Name, v, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();

        var host = await StartAsync(Options(attempts: 2));
        var client = Client(host);
        var ok = await client.EnqueueAsync<NoteJob, NoteArgs>(new NoteArgs("fine"));
        var bad = await client.EnqueueAsync<FailingJob, NoteArgs>(new NoteArgs("broken"));
        await UntilAsync(async () => await StateAsync(ok.Id) == "succeeded" && await StateAsync(bad.Id) == "dead", "both to finish");
        await host.Services.GetRequiredService<JobWorker>().CountAsync(CancellationToken.None);
        listener.RecordObservableInstruments();

        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.enqueued" && m.Tags == "queue=default");
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.finished" && m.Tags == "queue=default,outcome=succeeded");
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.finished" && m.Tags == "queue=default,outcome=dead");
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.retries" && m.Value == 1);
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.duration");
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.start_delay");
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.count" && m.Tags == "queue=default,state=succeeded" && m.Value == 1);
        Assert.Contains(measurements, m => m.Name == "chatstats.jobs.count" && m.Tags == "queue=default,state=dead" && m.Value == 1);
    }

    [Fact]
    public void CronTimesFollowTheZoneAcrossDst()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var schedule = Cron.Parse("30 2 * * *");
        // 29 March 2026: 02:30 does not exist in Berlin (clocks jump from 02:00 to 03:00): it runs at 03:00 CEST.
        var next = Cron.Next(schedule, berlin, new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero));
        var after = Cron.Next(schedule, berlin, new DateTimeOffset(2026, 3, 29, 12, 0, 0, TimeSpan.Zero));

        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), next);
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero), after);
        Assert.Throws<ArgumentException>(() => Cron.Parse("every day"));
    }
}

internal static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for: {what}");
            }
            await Task.Delay(20);
        }
    }
}
