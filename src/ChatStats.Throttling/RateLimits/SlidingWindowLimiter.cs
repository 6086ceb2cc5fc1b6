using System.Threading.RateLimiting;

namespace ChatStats.Throttling.RateLimits;

public sealed record SlidingWindowOptions
{
    public required int PermitLimit { get; init; }
    public required TimeSpan Window { get; init; }

    public void Validate(string name)
    {
        if (PermitLimit < 1)
        {
            throw new ArgumentException($"{name}: the permit limit must be at least 1, not {PermitLimit}");
        }
        if (Window <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{name}: the window must be longer than zero, not {Window}");
        }
    }
}

/// <summary>
/// At most <see cref="SlidingWindowOptions.PermitLimit"/> permits per key in any window of
/// <see cref="SlidingWindowOptions.Window"/>, exactly: each key keeps the times of its last permits, so a refusal says
/// precisely when the oldest one leaves the window. Checking a known key allocates nothing. Keys whose permits have all
/// left the window are evicted by a periodic sweep, under the same lock as the checks.
/// </summary>
public sealed class SlidingWindowLimiter<TKey> : PartitionedRateLimiter<TKey>, IRateLimit<TKey> where TKey : notnull
{
    private readonly StripedTable<TKey, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly int _limit;
    private readonly long _windowTicks;
    private readonly ITimer _sweeper;

    public SlidingWindowLimiter(string name, SlidingWindowOptions options, TimeProvider time, TimeSpan? sweepInterval = null)
    {
        options.Validate(name);
        Name = name;
        Options = options;
        _time = time;
        _limit = options.PermitLimit;
        _windowTicks = (long)(options.Window.TotalSeconds * time.TimestampFrequency);
        var interval = sweepInterval ?? TimeSpan.FromSeconds(Math.Clamp(options.Window.TotalSeconds / 4, 1, 15));
        _sweeper = time.CreateTimer(_ => Sweep(), null, interval, interval);
    }

    public string Name { get; }
    public SlidingWindowOptions Options { get; }

    /// <summary>Keys currently tracked.</summary>
    public int Count => _entries.Count;

    private sealed class Entry(int limit)
    {
        public readonly long[] Stamps = new long[limit];
        public int Next;
        public int Used;
    }

    /// <summary>Takes a permit for <paramref name="key"/> if the window has room.</summary>
    public ValueTask<RateDecision> TryAcquireAsync(TKey key) => ValueTask.FromResult(TryAcquire(key));

    public RateDecision TryAcquire(TKey key)
    {
        var decision = _entries.With(key, this, static (_, self) => new Entry(self._limit), static (entry, self) => self.TryAcquire(entry));
        ThrottlingMetrics.Decision(Name, decision.Allowed);
        return decision;
    }

    private RateDecision TryAcquire(Entry entry)
    {
        var now = _time.GetTimestamp();
        Expire(entry, now);
        if (entry.Used < _limit)
        {
            entry.Stamps[entry.Next] = now;
            entry.Next = (entry.Next + 1) % _limit;
            entry.Used++;
            return RateDecision.Allow;
        }
        return new RateDecision(false, RetryAfter(entry, now));
    }

    /// <summary>What <see cref="TryAcquire(TKey)"/> would say, without taking a permit.</summary>
    public RateDecision Peek(TKey key) =>
        _entries.TryWith(key, entry =>
        {
            var now = _time.GetTimestamp();
            Expire(entry, now);
            return entry.Used < _limit ? RateDecision.Allow : new RateDecision(false, RetryAfter(entry, now));
        }, out var decision) ? decision : RateDecision.Allow;

    /// <summary>Evicts keys with no permit left in the window; returns how many.</summary>
    public int Sweep() => _entries.RemoveWhere(entry =>
    {
        Expire(entry, _time.GetTimestamp());
        return entry.Used == 0;
    });

    private void Expire(Entry entry, long now)
    {
        while (entry.Used > 0)
        {
            var oldest = (entry.Next - entry.Used + _limit) % _limit;
            if (now - entry.Stamps[oldest] < _windowTicks)
            {
                break;
            }
            entry.Used--;
        }
    }

    private TimeSpan RetryAfter(Entry entry, long now)
    {
        var oldest = entry.Stamps[(entry.Next - entry.Used + _limit) % _limit];
        return _time.GetElapsedTime(now, oldest + _windowTicks);
    }

    public override RateLimiterStatistics? GetStatistics(TKey resource)
    {
        _entries.TryWith(resource, entry =>
        {
            Expire(entry, _time.GetTimestamp());
            return entry.Used;
        }, out var used);
        return new RateLimiterStatistics { CurrentAvailablePermits = _limit - used, CurrentQueuedCount = 0 };
    }

    protected override RateLimitLease AttemptAcquireCore(TKey resource, int permitCount) =>
        permitCount == 0 ? Peek(resource).ToLease() : permitCount == 1 ? TryAcquire(resource).ToLease()
            : throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, "one permit at a time");

    /// <summary>Waits (on the limiter's clock) until a permit is free.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TKey resource, int permitCount, CancellationToken cancellationToken) =>
        Leases.WhenGrantedAsync(() => permitCount == 0 ? Peek(resource) : TryAcquire(resource), _time, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sweeper.Dispose();
        }
        base.Dispose(disposing);
    }
}
