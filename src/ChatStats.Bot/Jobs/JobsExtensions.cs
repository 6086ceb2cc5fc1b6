using System.Net;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Jobs;

internal static class JobsExtensions
{
    /// <summary>
    /// Hangfire on PostgreSQL for every role: the client (the bot enqueues reports, the web role shows the dashboard)
    /// and, with <paramref name="workers"/>, one Hangfire server per queue with that queue's worker count, the recurring
    /// jobs and the carry-over of jobs left in the old queue. Storage, activator and filters are this host's own
    /// instances, not Hangfire's static globals, so several hosts in one process stay apart.
    /// </summary>
    public static IHostApplicationBuilder AddJobs(this IHostApplicationBuilder builder, bool workers)
    {
        builder.Services.AddValidatedOptions<JobsOptions>(JobsOptions.Section);
        builder.Services.AddSingleton(sp => JobsDataSource.Create(
            sp.GetRequiredService<IOptions<DatabaseOptions>>().Value, sp.GetRequiredService<IOptions<JobsOptions>>().Value, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<HangfireLogsAttachment>();
        builder.Services.AddSingleton<JobStorage>(sp =>
        {
            // Before the storage logs its schema installation: Hangfire's log lines go to this host's loggers.
            sp.GetRequiredService<HangfireLogsAttachment>();
            return sp.GetRequiredService<JobsDataSource>().CreateStorage(sp.GetRequiredService<IOptions<JobsOptions>>().Value);
        });
        builder.Services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        builder.Services.AddSingleton<JobRetries>();
        builder.Services.AddSingleton<JobsMetrics>();
        builder.Services.AddSingleton<IJobFilterProvider>(sp =>
        {
            // Hangfire's global filters (its AutomaticRetry among them) are replaced by these.
            var filters = new JobFilterCollection { sp.GetRequiredService<JobRetries>(), sp.GetRequiredService<JobsMetrics>() };
            if (sp.GetService<ChatStats.Throttling.LoadShedding.LoadMonitor>() is { } load)
            {
                filters.Add(new RecurringLoadFilter(load, sp.GetRequiredService<ILogger<RecurringLoadFilter>>()));
            }
            return new JobFilterProviderCollection(filters, new JobFilterAttributeFilterProvider());
        });
        builder.Services.AddHangfire((sp, config) =>
        {
            // In place of Hangfire.NetCore's provider, bound to one host's logger factory (see HangfireLogs).
            sp.GetRequiredService<HangfireLogsAttachment>();
            config.UseLogProvider(HangfireLogs.Instance)
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
        });
        builder.Services.AddSingleton<JobDeadlines>();
        builder.Services.AddSingleton<Reports.ReportRequests>();
        builder.Services.AddSingleton<Reports.DigestSchedules>();
        builder.Services.AddSingleton<Commands.IDigestSchedule>(sp => sp.GetRequiredService<Reports.DigestSchedules>());
        builder.Services.AddSingleton<Reports.LegacyJobs>();
        builder.Services.AddSingleton<IRecurringJobs, Reports.ReportsRecurringJobs>();
        builder.Services.AddTransient<Reports.ReportJob>();
        builder.Services.AddTransient<Reports.DigestJob>();
        builder.Services.AddTransient<Reports.DigestReconcileJob>();
        builder.Services.AddTransient<Reports.RetentionPurgeJob>();
        builder.Services.AddTransient<Stats.FoldPendingTotalsJob>();
        builder.Services.AddTransient<PingJob>();
        builder.Services.AddSingleton<JobsPing>();
        if (workers)
        {
            AddServers(builder);
            builder.Services.AddHostedService<RecurringJobsSetup>();
        }
        return builder;
    }

    /// <summary>One Hangfire server per configured queue, capped at the queue's Workers in this process.</summary>
    private static void AddServers(IHostApplicationBuilder builder)
    {
        var configured = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        var queues = configured.Queues.Keys.OrderBy(q => q == JobsOptions.DefaultQueue ? 0 : 1).ThenBy(q => q, StringComparer.Ordinal).ToList();
        for (var i = 0; i < queues.Count; i++)
        {
            var queue = queues[i];
            // The first server also runs the storage's own processes (the sliding invisibility keep-alive among them,
            // which serves every server of this storage), the schedulers and the watchdog; the others only work.
            var lightweight = i > 0;
            builder.Services.AddHangfireServer((sp, o) =>
            {
                var jobs = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
                o.ServerName = $"{Dns.GetHostName()}:{Environment.ProcessId}:{queue}";
                o.Queues = [queue];
                o.WorkerCount = jobs.Queue(queue).Workers;
                o.IsLightweightServer = lightweight;
                // StopTimeout: running jobs' tokens are cancelled this long after SIGTERM. ShutdownTimeout: Hangfire gives
                // up on its workers; it must come later, or a job cancelled at the grace is abandoned before its worker
                // returns it to the queue, and it waits out the invisibility timeout (found by the SIGTERM test).
                o.StopTimeout = TimeSpan.FromSeconds(jobs.ShutdownGraceSeconds);
                o.ShutdownTimeout = TimeSpan.FromSeconds(jobs.ShutdownGraceSeconds + JobsOptions.RequeueSeconds);
                // Retries and deferrals are scheduled jobs: look for due ones every second, not every 15.
                o.SchedulePollingInterval = TimeSpan.FromSeconds(1);
                o.HeartbeatInterval = TimeSpan.FromSeconds(15);
                o.ServerCheckInterval = TimeSpan.FromMinutes(1);
                o.ServerTimeout = TimeSpan.FromMinutes(2);
            });
        }
    }
}

/// <summary>
/// When workers start: every feature's recurring jobs (<see cref="IRecurringJobs"/>, in the order registered: the
/// reports' first, which carry over the old queue's pending jobs) and the fold of pending member totals. Retried while
/// the database is away.
/// </summary>
internal sealed class RecurringJobsSetup(IRecurringJobManager recurring, IEnumerable<IRecurringJobs> features, TimeProvider time,
    ILogger<RecurringJobsSetup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                foreach (var feature in features)
                {
                    await feature.SetUpAsync(recurring, stoppingToken);
                }
                // Member totals an interrupted import left pending (an import folds its own when it finishes).
                recurring.AddOrUpdate<Stats.FoldPendingTotalsJob>("fold-pending-totals", JobsOptions.DefaultQueue, job => job.RunAsync(CancellationToken.None),
                    Stats.FoldPendingTotalsJob.Cron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
                return;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
            {
                var delay = TimeSpan.FromSeconds(Math.Min(30, 2 << Math.Min(attempt, 4)));
                logger.LogWarning("Recurring jobs not set up yet ({Error}); retrying in {Delay}", ex.Message, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }
}
