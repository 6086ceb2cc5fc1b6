namespace ChatStats.Throttling.Concurrency;

/// <summary>What happens to a request that finds its queue full.</summary>
public enum OverloadPolicy
{
    /// <summary>Refuse the newcomer (the default: cheap and predictable).</summary>
    DropNewest,

    /// <summary>Refuse whoever has waited longest and queue the newcomer: favours fresh requests.</summary>
    DropOldest,

    /// <summary>Queue the newcomer regardless of the queue limit, bounded only by the queue timeout (can cascade).</summary>
    Block,
}

public sealed record ResourceLimiterOptions
{
    public int MaxConcurrentPerUser { get; init; } = 3;
    public int MaxQueuePerUser { get; init; } = 10;
    public int MaxConcurrentGlobal { get; init; } = 100;
    public int MaxQueueGlobal { get; init; } = 500;
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(5);
    public OverloadPolicy Policy { get; init; } = OverloadPolicy.DropNewest;

    public void Validate(string name)
    {
        if (MaxConcurrentPerUser < 1 || MaxConcurrentGlobal < 1)
        {
            throw new ArgumentException($"{name}: concurrency limits must be at least 1");
        }
        if (MaxQueuePerUser < 0 || MaxQueueGlobal < 0)
        {
            throw new ArgumentException($"{name}: queue limits cannot be negative");
        }
        if (QueueTimeout <= TimeSpan.Zero || RetryAfter <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{name}: the queue timeout and retry-after must be longer than zero");
        }
    }
}

public enum OverloadReason
{
    UserQueueFull,
    GlobalQueueFull,
    QueueTimeout,
    DroppedForNewer,
}

/// <summary>A request refused by a concurrency limiter, with a message for people and when to retry.</summary>
public sealed class OverloadException(string message, TimeSpan retryAfter, OverloadReason reason) : Exception(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
    public OverloadReason Reason { get; } = reason;
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}

public sealed record UserLoad(string User, int Concurrent, int Queued);

/// <summary>The limiter's state, as the seed guide's get_stats() returns it.</summary>
public sealed record ResourceLimiterStats(
    int GlobalConcurrent, int GlobalQueued, int TotalUsers, IReadOnlyList<UserLoad> Users, ResourceLimiterOptions Config);
