using ChatStats.Bot.Jobs;
using Hangfire;

namespace ChatStats.Bot.Reports;

/// <summary>
/// The reports' part of worker start: the old queue's pending jobs carried over, the nightly retention purge, the
/// hourly digest reconcile, and every chat's digest schedule brought in line with its settings.
/// </summary>
internal sealed class ReportsRecurringJobs(LegacyJobs legacy, DigestSchedules digests) : IRecurringJobs
{
    public async Task SetUpAsync(IRecurringJobManager recurring, CancellationToken ct)
    {
        await legacy.CarryAsync(ct);
        // Nightly, when groups are quiet: messages and rollup hours past each chat's retention.
        recurring.AddOrUpdate<RetentionPurgeJob>("retention-purge", JobsOptions.DefaultQueue, job => job.RunAsync(CancellationToken.None),
            "15 3 * * *", new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        recurring.AddOrUpdate<DigestReconcileJob>("digest-schedules", JobsOptions.DefaultQueue, job => job.RunAsync(CancellationToken.None),
            "7 * * * *", new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        // The old queue's digest sweep and any other job it registered have no place here.
        recurring.RemoveIfExists("digest-sweep");
        await digests.ReconcileAsync(ct);
    }
}
