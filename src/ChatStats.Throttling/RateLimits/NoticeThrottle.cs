using System.Diagnostics.Metrics;

namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// One "slow down" notice per key per window: someone spamming a throttled command hears about it once, so the bot
/// never answers a flood with a flood of its own.
/// </summary>
public sealed class NoticeThrottle<TKey>(string name, IRateLimit<TKey> limit) : IDisposable where TKey : notnull
{
    private static readonly Meter Meter = new(ThrottlingMetrics.MeterName + ".Notices");
    private static readonly Counter<long> Suppressed = Meter.CreateCounter<long>("chatstats.throttling.notices_suppressed", "{notice}", "Rejection notices not sent because one was sent recently.");

    /// <summary>In this process only: one notice per key per <paramref name="window"/>.</summary>
    public NoticeThrottle(string name, TimeSpan window, TimeProvider time)
        : this(name, new SlidingWindowLimiter<TKey>(name, new SlidingWindowOptions { PermitLimit = 1, Window = window }, time))
    {
    }

    public async ValueTask<bool> ShouldNotifyAsync(TKey key)
    {
        if ((await limit.TryAcquireAsync(key).ConfigureAwait(false)).Allowed)
        {
            return true;
        }
        Suppressed.Add(1, new KeyValuePair<string, object?>("throttle", name));
        return false;
    }

    public int Count => limit.Count;

    public void Dispose() => (limit as IDisposable)?.Dispose();
}
