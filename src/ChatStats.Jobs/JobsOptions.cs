namespace ChatStats.Jobs;

/// <summary>One queue: how many of its jobs run at once in each worker process, and for how long.</summary>
public sealed record QueueOptions
{
    /// <summary>Jobs of this queue running at once in one process (each worker claims one job at a time).</summary>
    public int Workers { get; init; } = 2;
    /// <summary>Hard limit: the attempt is failed and its slot freed, even if the job ignores cancellation.</summary>
    public int TimeoutSeconds { get; init; } = 300;
    /// <summary>The job's cancellation token fires here, leaving it time to stop cleanly before the hard limit.</summary>
    public int SoftTimeoutSeconds { get; init; } = 240;
    public int MaxAttempts { get; init; } = 3;
}

/// <summary>The job system's settings; queues are configured by name (Jobs:Queues:reports:Workers …).</summary>
public sealed record JobsOptions
{
    public IReadOnlyDictionary<string, QueueOptions> Queues { get; init; } = new Dictionary<string, QueueOptions>
    {
        ["default"] = new(),
        ["reports"] = new() { Workers = 2, TimeoutSeconds = 300, SoftTimeoutSeconds = 240, MaxAttempts = 3 },
    };

    /// <summary>A running job's lease; its worker extends it every third of it. A lease that runs out means the worker is gone.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How often expired leases are looked for.</summary>
    public TimeSpan RescueInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Idle workers look for work this often even if no notification arrives.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>On shutdown, running jobs get this long to finish before they are cancelled and returned to their queue.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Retry delay: RetryBase × 2^(attempt−1), at most RetryMax, then ±RetryJitter.</summary>
    public TimeSpan RetryBase { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryMax { get; init; } = TimeSpan.FromHours(1);
    public double RetryJitter { get; init; } = 0.2;
    /// <summary>How often the scheduler looks for due recurring jobs.</summary>
    public TimeSpan SchedulerInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Queues this process works; empty means all configured queues.</summary>
    public IReadOnlyList<string> Run { get; init; } = [];

    public QueueOptions Queue(string name) =>
        Queues.TryGetValue(name, out var queue) ? queue : throw new ArgumentException($"Unknown job queue '{name}'; configure it under Jobs:Queues.");

    /// <summary>The delay before attempt <paramref name="attempt"/> + 1, given a uniform random number in [0, 1).</summary>
    public TimeSpan RetryDelay(int attempt, double random)
    {
        var exponential = RetryBase.TotalSeconds * Math.Pow(2, Math.Max(0, attempt - 1));
        var capped = Math.Min(exponential, RetryMax.TotalSeconds);
        return TimeSpan.FromSeconds(capped * (1 + RetryJitter * (2 * random - 1)));
    }

    public void Validate()
    {
        foreach (var (name, q) in Queues)
        {
            if (q.Workers < 1 || q.TimeoutSeconds < 1 || q.SoftTimeoutSeconds < 1 || q.SoftTimeoutSeconds > q.TimeoutSeconds || q.MaxAttempts < 1)
            {
                throw new ArgumentException($"Jobs:Queues:{name}: Workers, TimeoutSeconds and MaxAttempts must be at least 1 and SoftTimeoutSeconds between 1 and TimeoutSeconds.");
            }
        }
        if (Lease < TimeSpan.FromSeconds(1) || RescueInterval <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero || RetryJitter is < 0 or >= 1)
        {
            throw new ArgumentException("Jobs: Lease must be at least 1 s, RescueInterval and PollInterval positive, RetryJitter in [0, 1).");
        }
    }
}
