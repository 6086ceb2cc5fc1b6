using System.ComponentModel.DataAnnotations;

namespace ChatStats.Bot.Jobs;

/// <summary>One queue as configured (Jobs:Queues:NAME), with the seed's Celery defaults.</summary>
internal sealed class QueueOptions
{
    /// <summary>Jobs of this queue running at once in one worker process (one Hangfire server per queue).</summary>
    [Range(1, 256, ErrorMessage = "must be between 1 and 256")] public int Workers { get; set; } = 2;

    /// <summary>Hard limit: past it a report's weasyprint is killed, whole tree, and the attempt fails saying so.</summary>
    [Range(1, 86_400, ErrorMessage = "must be between 1 and 86400 seconds")] public int TimeoutSeconds { get; set; } = 300;

    /// <summary>The job's cancellation token fires here, so it can stop cleanly before the hard limit.</summary>
    [Range(1, 86_400, ErrorMessage = "must be between 1 and 86400 seconds")] public int SoftTimeoutSeconds { get; set; } = 240;

    /// <summary>Attempts in all, the first included; the last failure is final (the job stays Failed in the dashboard).</summary>
    [Range(1, 100, ErrorMessage = "must be between 1 and 100")] public int MaxAttempts { get; set; } = 3;

    /// <summary>The wait before the second attempt; each further one waits twice as long (±20 %), at most an hour.</summary>
    [Range(1, 3_600, ErrorMessage = "must be between 1 and 3600 seconds")] public int RetryDelaySeconds { get; set; } = 10;
}

/// <summary>The Jobs section: Hangfire's queues, its storage's timings, and its connection bound.</summary>
internal sealed class JobsOptions : IValidatableObject
{
    public const string Section = "Jobs";
    public const string Schema = "hangfire";
    public const string DefaultQueue = "default";
    public const string ReportsQueue = "reports";

    public Dictionary<string, QueueOptions> Queues { get; set; } = new(StringComparer.Ordinal)
    {
        [DefaultQueue] = new() { Workers = 2, TimeoutSeconds = 120, SoftTimeoutSeconds = 100, MaxAttempts = 3 },
        [ReportsQueue] = new() { Workers = 2, TimeoutSeconds = 300, SoftTimeoutSeconds = 240, MaxAttempts = 3 },
    };

    /// <summary>
    /// A job whose worker died is fetched again this long after its last keep-alive (Hangfire.PostgreSql's sliding
    /// invisibility timeout, refreshed every fifth of it while the job runs). The library's default is 30 minutes and
    /// not sliding, so a killed report waited half an hour and a report longer than that ran twice.
    /// </summary>
    [Range(10, 3_600, ErrorMessage = "must be between 10 and 3600 seconds")] public int InvisibilityTimeoutSeconds { get; set; } = 60;

    /// <summary>How often an idle worker looks for a job another process enqueued (same-process enqueues wake it at once).</summary>
    [Range(50, 60_000, ErrorMessage = "must be between 50 and 60000 milliseconds")] public int QueuePollIntervalMilliseconds { get; set; } = 500;

    /// <summary>Connections Hangfire may hold at once in this process, on top of Database:MaxPoolSize.</summary>
    [Range(1, 100, ErrorMessage = "must be between 1 and 100 connections")] public int MaxConnections { get; set; } = 5;

    /// <summary>On SIGTERM running jobs get this long to finish; the rest go back to their queue at once.</summary>
    [Range(0, 600, ErrorMessage = "must be between 0 and 600 seconds")] public int ShutdownGraceSeconds { get; set; } = 20;

    /// <summary>
    /// After the grace a job's token is cancelled; it then needs a moment to unwind (weasyprint killed) and for its
    /// worker to put it back in the queue. Hangfire aborts whatever is still running at its ShutdownTimeout, and an
    /// aborted job waits out the invisibility timeout instead, so that timeout is the grace plus this.
    /// </summary>
    public const int RequeueSeconds = 4;

    public const int MaxShutdownGraceSeconds = 20;

    public QueueOptions Queue(string name) =>
        Queues.TryGetValue(name, out var queue) ? queue : Queues[DefaultQueue];

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
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z0-9_-]{1,20}$"))
            {
                yield return new ValidationResult("a queue name is 1-20 of a-z, 0-9, _ and - (Hangfire's rule).", [$"Queues:{name}"]);
            }
        }
        foreach (var required in new[] { DefaultQueue, ReportsQueue }.Where(q => !Queues.ContainsKey(q)))
        {
            yield return new ValidationResult($"the '{required}' queue is needed by ChatStats; configure it or leave the defaults.", [$"Queues:{required}"]);
        }
        if (ShutdownGraceSeconds > MaxShutdownGraceSeconds)
        {
            yield return new ValidationResult($"must be at most {MaxShutdownGraceSeconds} s: a cancelled job then has {RequeueSeconds} s to go back to its queue inside the process's 25-s shutdown timeout (systemd waits 30 s).",
                [nameof(ShutdownGraceSeconds)]);
        }
    }
}
