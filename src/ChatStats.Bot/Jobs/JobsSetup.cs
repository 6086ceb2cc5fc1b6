using System.ComponentModel.DataAnnotations;
using ChatStats.Bot.Configuration;
using ChatStats.Jobs;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Jobs;

/// <summary>One queue as configured (Jobs:Queues:NAME), with the seed's Celery defaults.</summary>
internal sealed class QueueSettings
{
    [Range(1, 256, ErrorMessage = "must be between 1 and 256")] public int Workers { get; set; } = 2;
    [Range(1, 86_400, ErrorMessage = "must be between 1 and 86400 seconds")] public int TimeoutSeconds { get; set; } = 300;
    [Range(1, 86_400, ErrorMessage = "must be between 1 and 86400 seconds")] public int SoftTimeoutSeconds { get; set; } = 240;
    [Range(1, 100, ErrorMessage = "must be between 1 and 100")] public int MaxAttempts { get; set; } = 3;
}

/// <summary>The Jobs section: queues and the worker's timings.</summary>
internal sealed class JobsSettings : IValidatableObject
{
    public const string Section = "Jobs";

    public Dictionary<string, QueueSettings> Queues { get; set; } = new(StringComparer.Ordinal)
    {
        ["default"] = new() { Workers = 2, TimeoutSeconds = 120, SoftTimeoutSeconds = 100, MaxAttempts = 3 },
        ["reports"] = new() { Workers = 2, TimeoutSeconds = 300, SoftTimeoutSeconds = 240, MaxAttempts = 3 },
    };

    [Range(5, 3600, ErrorMessage = "must be between 5 and 3600 seconds")] public int LeaseSeconds { get; set; } = 30;
    [Range(1, 3600, ErrorMessage = "must be between 1 and 3600 seconds")] public int RescueIntervalSeconds { get; set; } = 5;
    [Range(0.05, 60, ErrorMessage = "must be between 0.05 and 60 seconds")] public double PollIntervalSeconds { get; set; } = 1;
    [Range(0, 600, ErrorMessage = "must be between 0 and 600 seconds")] public int ShutdownGraceSeconds { get; set; } = 20;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, queue) in Queues)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(queue, new ValidationContext(queue), results, validateAllProperties: true);
            foreach (var result in results)
            {
                yield return new ValidationResult(result.ErrorMessage, [$"Queues:{name}:{result.MemberNames.FirstOrDefault()}"]);
            }
            if (queue.SoftTimeoutSeconds > queue.TimeoutSeconds)
            {
                yield return new ValidationResult("must not be longer than TimeoutSeconds (the hard limit).", [$"Queues:{name}:SoftTimeoutSeconds"]);
            }
        }
        foreach (var required in new[] { "default", "reports" }.Where(q => !Queues.ContainsKey(q)))
        {
            yield return new ValidationResult($"the '{required}' queue is needed by ChatStats; configure it or leave the defaults.", [$"Queues:{required}"]);
        }
        if (ShutdownGraceSeconds >= 25)
        {
            yield return new ValidationResult("must be under 25 s, the process's shutdown timeout (systemd waits 30 s).", [nameof(ShutdownGraceSeconds)]);
        }
    }

    public JobsOptions ToOptions() => new()
    {
        Queues = Queues.ToDictionary(q => q.Key, q => new QueueOptions
        {
            Workers = q.Value.Workers,
            TimeoutSeconds = q.Value.TimeoutSeconds,
            SoftTimeoutSeconds = q.Value.SoftTimeoutSeconds,
            MaxAttempts = q.Value.MaxAttempts,
        }),
        Lease = TimeSpan.FromSeconds(LeaseSeconds),
        RescueInterval = TimeSpan.FromSeconds(RescueIntervalSeconds),
        PollInterval = TimeSpan.FromSeconds(PollIntervalSeconds),
        ShutdownGrace = TimeSpan.FromSeconds(ShutdownGraceSeconds),
    };
}

internal static class JobsSetup
{
    /// <summary>The job client in every role (the bot enqueues, the web pages retry and delete); workers where asked.</summary>
    public static IHostApplicationBuilder AddJobQueue(this IHostApplicationBuilder builder, bool workers)
    {
        builder.Services.AddValidatedOptions<JobsSettings>(JobsSettings.Section);
        builder.Services.AddJobs(sp => sp.GetRequiredService<IOptions<JobsSettings>>().Value.ToOptions());
        if (workers)
        {
            builder.Services.AddJobWorkers();
            builder.Services.AddHostedService<RecurringPauseHook>();
            builder.Services.AddHostedService<RecurringSetup>();
        }
        return builder;
    }
}

/// <summary>Recurring work waits while load shedding says the process is under pressure.</summary>
internal sealed class RecurringPauseHook(RecurringScheduler scheduler, ChatStats.Throttling.LoadShedding.LoadMonitor load) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        scheduler.Paused = () => Throttling.LoadSheddingService.RecurringWorkPaused(load);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The recurring jobs ChatStats itself needs, created or updated when workers start.</summary>
internal sealed class RecurringSetup(JobClient jobs, ILogger<RecurringSetup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // Nightly, when groups are quiet: messages and rollup hours past each chat's retention.
                await jobs.AddOrUpdateRecurringAsync<Reports.RetentionPurgeJob, Reports.PurgeArgs>("retention-purge", "15 3 * * *", TimeZoneInfo.Utc, new Reports.PurgeArgs(), "default", stoppingToken);
                // Each chat's digest at its own local time: a sweep every five minutes finds the ones due.
                await jobs.AddOrUpdateRecurringAsync<Reports.DigestSweepJob, Reports.DigestSweepArgs>("digest-sweep", Reports.DigestSweepJob.Cron, TimeZoneInfo.Utc, new Reports.DigestSweepArgs(), "default", stoppingToken);
                // Member totals an interrupted import left pending (an import folds its own when it finishes).
                await jobs.AddOrUpdateRecurringAsync<Stats.FoldPendingTotalsJob, Stats.FoldPendingArgs>("fold-pending-totals", Stats.FoldPendingTotalsJob.Cron, TimeZoneInfo.Utc, new Stats.FoldPendingArgs(), "default", stoppingToken);
                return;
            }
            catch (Npgsql.NpgsqlException ex) when (attempt < 30)
            {
                logger.LogWarning("Recurring jobs not set up yet ({Error}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }
}
