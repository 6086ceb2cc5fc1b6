namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// A per-key limit asked once per request: allowed, or refused with the real time until it would be. Implemented in
/// process (<see cref="SlidingWindowLimiter{TKey}"/>, <see cref="TokenBucketLimiter{TKey}"/>) and for a whole
/// deployment (<see cref="Shared.SharedWindowLimiter{TKey}"/>, <see cref="Shared.SharedTokenBucket{TKey}"/>).
/// </summary>
public interface IRateLimit<TKey> where TKey : notnull
{
    string Name { get; }

    /// <summary>Keys this process tracks (for a shared limit: those it tracks while Redis is away).</summary>
    int Count { get; }

    ValueTask<RateDecision> TryAcquireAsync(TKey key);
}
