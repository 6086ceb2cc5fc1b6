using ChatStats.Throttling.LoadShedding;
using Hangfire.Common;
using Hangfire.States;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// Recurring work (digests, the purge, the fold) waits while load shedding says this worker is under pressure: a
/// recurring job about to start is put back by 30 s instead. Reports and other work asked for by people run as usual.
/// </summary>
internal sealed class RecurringLoadFilter(LoadMonitor load, ILogger<RecurringLoadFilter> logger) : JobFilterAttribute, IElectStateFilter
{
    public static readonly TimeSpan Postpone = TimeSpan.FromSeconds(30);

    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is not ProcessingState || !Throttling.LoadSheddingService.RecurringWorkPaused(load))
        {
            return;
        }
        if (context.GetJobParameter<string>("RecurringJobId") is not { Length: > 0 } recurring)
        {
            return;
        }
        logger.LogInformation("Recurring job {RecurringJobId} postponed by {Delay}: load is {Level}", recurring, Postpone, load.Level);
        context.CandidateState = new ScheduledState(Postpone) { Reason = $"Postponed: this worker's load is {load.Level}" };
    }
}
