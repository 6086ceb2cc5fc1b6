using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Jobs;

/// <summary>A failure another attempt cannot fix (weasyprint missing, a chat that does not exist): no retry.</summary>
internal sealed class PermanentJobFailureException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The job cannot run yet (another report of the same chat is running): it runs again later, without spending an attempt.</summary>
internal sealed class JobDeferredException(TimeSpan delay, string reason) : Exception(reason)
{
    public TimeSpan Delay { get; } = delay;
}

/// <summary>
/// Retries per queue (Jobs:Queues:NAME:MaxAttempts, doubling delays from RetryDelaySeconds, ±20 %, at most an hour), in
/// place of Hangfire's AutomaticRetry (10 attempts, the same for every job). Every failed attempt is logged with its
/// exception; a permanent failure is final at once; a deferral is rescheduled without counting as an attempt.
/// </summary>
internal sealed class JobRetries(IOptions<JobsOptions> options, ILogger<JobRetries> logger) : JobFilterAttribute, IElectStateFilter
{
    /// <summary>The job parameter Hangfire's own retries use, so the dashboard shows the count.</summary>
    public const string RetryCount = "RetryCount";

    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is not FailedState { Exception: var exception })
        {
            return;
        }
        var job = context.BackgroundJob;
        var name = $"{job.Job.Type.Name}.{job.Job.Method.Name}";
        if (Unwrap(exception) is JobDeferredException deferred)
        {
            logger.LogInformation("Job {JobId} ({Job}) deferred for {Delay}: {Reason}", job.Id, name, deferred.Delay, deferred.Message);
            context.CandidateState = new ScheduledState(deferred.Delay) { Reason = $"Deferred: {deferred.Message}" };
            return;
        }
        var queue = job.Job.Queue ?? JobsOptions.DefaultQueue;
        var settings = options.Value.Queue(queue);
        var attempt = context.GetJobParameter<int>(RetryCount) + 1;
        if (Unwrap(exception) is PermanentJobFailureException)
        {
            logger.LogError(exception, "Job {JobId} ({Job}) failed permanently on attempt {Attempt}; not retried", job.Id, name, attempt);
            return;
        }
        if (attempt >= settings.MaxAttempts)
        {
            logger.LogError(exception, "Job {JobId} ({Job}) failed on its last attempt ({Attempt} of {MaxAttempts}); it stays Failed in the dashboard",
                job.Id, name, attempt, settings.MaxAttempts);
            return;
        }
        var delay = Delay(settings, attempt, Random.Shared.NextDouble());
        context.SetJobParameter(RetryCount, attempt);
        context.CandidateState = new ScheduledState(delay)
        {
            Reason = $"Attempt {attempt} of {settings.MaxAttempts} failed ({exception.GetType().Name}: {exception.Message}); retrying in {delay.TotalSeconds:0} s",
        };
        logger.LogError(exception, "Job {JobId} ({Job}) attempt {Attempt} of {MaxAttempts} failed; retrying in {Delay}", job.Id, name, attempt, settings.MaxAttempts, delay);
    }

    /// <summary>Before attempt <paramref name="attempt"/> + 1: RetryDelaySeconds × 2^(attempt − 1), at most an hour, ±20 %.</summary>
    internal static TimeSpan Delay(QueueOptions queue, int attempt, double random)
    {
        var seconds = Math.Min(queue.RetryDelaySeconds * Math.Pow(2, Math.Max(0, attempt - 1)), 3_600);
        return TimeSpan.FromSeconds(seconds * (0.8 + 0.4 * random));
    }

    /// <summary>Hangfire wraps what a job throws when it cannot be thrown as it is; look inside.</summary>
    private static Exception Unwrap(Exception exception) =>
        exception is Hangfire.Server.JobPerformanceException { InnerException: { } inner } ? inner : exception;
}
