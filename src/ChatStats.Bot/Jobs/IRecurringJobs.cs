using Hangfire;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// A feature's share of what workers set up when they start: its recurring jobs created or updated, and anything that
/// must happen before they run. Each is called in the order registered, and again after a failure while the database
/// is away, so it must be safe to repeat.
/// </summary>
internal interface IRecurringJobs
{
    Task SetUpAsync(IRecurringJobManager recurring, CancellationToken ct);
}
