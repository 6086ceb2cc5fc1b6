using System.Diagnostics.Metrics;

namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// One "slow down" notice per key per window: someone spamming a throttled command hears about it once, so the bot
/// never answers a flood with a flood of its own.
/// </summary>
public sealed class NoticeThrottle<TKey>(string name, TimeSpan window, TimeProvider time) : IDisposable where TKey : notnull
{
    private static readonly Meter Meter = new(ThrottlingMetrics.MeterName + ".Notices");
    private static readonly Counter<long> Suppressed = Meter.CreateCounter<long>("chatstats.throttling.notices_suppressed", "{notice}", "Rejection notices not sent because one was sent recently.");

    private readonly SlidingWindowLimiter<TKey> _limiter = new(name, new SlidingWindowOptions { PermitLimit = 1, Window = window }, time);

    public bool ShouldNotify(TKey key)
    {
        if (_limiter.TryAcquire(key).Allowed)
        {
            return true;
        }
        Suppressed.Add(1, new KeyValuePair<string, object?>("throttle", name));
        return false;
    }

    public int Count => _limiter.Count;

    public void Dispose() => _limiter.Dispose();
}
