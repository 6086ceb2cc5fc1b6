using System.Threading.RateLimiting;

namespace ChatStats.Throttling.RateLimits;

/// <param name="Limit">Tokens added per <paramref name="Period"/>.</param>
/// <param name="Capacity">Tokens the bucket holds at most: the burst allowed at this rate.</param>
public sealed record BucketRate(int Limit, TimeSpan Period, int Capacity)
{
    public double PerSecond => Limit / Period.TotalSeconds;
}

/// <summary>
/// A request needs a token from every rate at once: per second (with a burst), per minute, per hour. The name identifies
/// the policy: two policies with one name are taken to be the same.
/// </summary>
public sealed record TokenBucketPolicy(string Name, IReadOnlyList<BucketRate> Rates)
{
    public static TokenBucketPolicy PerSecondMinuteHour(string name, int perSecond, int perMinute, int perHour, int burst)
    {
        if (perSecond < 1 || perMinute < 1 || perHour < 1 || burst < 1)
        {
            throw new ArgumentException($"{name}: rates and burst must be at least 1 (got {perSecond}/s, {perMinute}/min, {perHour}/h, burst {burst})");
        }
        return new(name, [new(perSecond, TimeSpan.FromSeconds(1), burst), new(perMinute, TimeSpan.FromMinutes(1), perMinute), new(perHour, TimeSpan.FromHours(1), perHour)]);
    }
}

/// <summary>
/// Token buckets per key, each key under the policy <c>policyFor</c> gives it (a chat's tier, say). The retry-after of
/// a refusal is the time until every rate has a token again. A key whose buckets have refilled is indistinguishable
/// from a new one and is evicted by the sweep. Policies are told apart by name: a key whose policy name changes (a new
/// tier) starts full under the new one.
/// </summary>
public sealed class TokenBucketLimiter<TKey> : PartitionedRateLimiter<TKey>, IRateLimit<TKey> where TKey : notnull
{
    private readonly StripedTable<TKey, Entry> _entries = new();
    private readonly Func<TKey, TokenBucketPolicy> _policyFor;
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;

    public TokenBucketLimiter(string name, Func<TKey, TokenBucketPolicy> policyFor, TimeProvider time, TimeSpan? sweepInterval = null)
    {
        Name = name;
        _policyFor = policyFor;
        _time = time;
        var interval = sweepInterval ?? TimeSpan.FromSeconds(30);
        _sweeper = time.CreateTimer(_ => Sweep(), null, interval, interval);
    }

    public string Name { get; }

    public int Count => _entries.Count;

    private sealed class Entry(TokenBucketPolicy policy, long now)
    {
        public TokenBucketPolicy Policy = policy;
        public double[] Tokens = [.. policy.Rates.Select(r => (double)r.Capacity)];
        public long Last = now;
    }

    public ValueTask<RateDecision> TryAcquireAsync(TKey key) => ValueTask.FromResult(TryAcquire(key));

    public RateDecision TryAcquire(TKey key)
    {
        var policy = _policyFor(key);
        var decision = _entries.With(key, (self: this, policy), static (_, s) => new Entry(s.policy, s.self._time.GetTimestamp()),
            static (entry, s) => s.self.TryAcquire(entry, s.policy));
        ThrottlingMetrics.Decision(Name, decision.Allowed, policy.Name);
        return decision;
    }

    private RateDecision TryAcquire(Entry entry, TokenBucketPolicy policy)
    {
        var now = _time.GetTimestamp();
        if (!string.Equals(entry.Policy.Name, policy.Name, StringComparison.Ordinal))
        {
            entry.Policy = policy;
            entry.Tokens = [.. policy.Rates.Select(r => (double)r.Capacity)];
            entry.Last = now;
        }
        Refill(entry, now);
        var rates = entry.Policy.Rates;
        var wait = 0.0;
        for (var i = 0; i < rates.Count; i++)
        {
            if (entry.Tokens[i] < 1)
            {
                wait = Math.Max(wait, (1 - entry.Tokens[i]) / rates[i].PerSecond);
            }
        }
        if (wait > 0)
        {
            return new RateDecision(false, TimeSpan.FromSeconds(wait));
        }
        for (var i = 0; i < rates.Count; i++)
        {
            entry.Tokens[i] -= 1;
        }
        return RateDecision.Allow;
    }

    /// <summary>Evicts keys whose buckets are full again (indistinguishable from new ones); returns how many.</summary>
    public int Sweep() => _entries.RemoveWhere(entry =>
    {
        Refill(entry, _time.GetTimestamp());
        for (var i = 0; i < entry.Tokens.Length; i++)
        {
            if (entry.Tokens[i] < entry.Policy.Rates[i].Capacity)
            {
                return false;
            }
        }
        return true;
    });

    private void Refill(Entry entry, long now)
    {
        var seconds = _time.GetElapsedTime(entry.Last, now).TotalSeconds;
        if (seconds <= 0)
        {
            return;
        }
        var rates = entry.Policy.Rates;
        for (var i = 0; i < rates.Count; i++)
        {
            entry.Tokens[i] = Math.Min(rates[i].Capacity, entry.Tokens[i] + seconds * rates[i].PerSecond);
        }
        entry.Last = now;
    }

    public override RateLimiterStatistics? GetStatistics(TKey resource)
    {
        var known = _entries.TryWith(resource, entry =>
        {
            Refill(entry, _time.GetTimestamp());
            return (long)entry.Tokens.Min();
        }, out var available);
        return new RateLimiterStatistics { CurrentAvailablePermits = known ? available : _policyFor(resource).Rates.Min(r => r.Capacity) };
    }

    /// <summary>
    /// The state of a key without taking anything: the tokens left at the tightest rate and when the bucket of
    /// <paramref name="rateIndex"/> is full again, for X-RateLimit-Remaining and X-RateLimit-Reset.
    /// </summary>
    public (long Remaining, TimeSpan FullAfter) Peek(TKey key, int rateIndex)
    {
        var known = _entries.TryWith(key, entry =>
        {
            Refill(entry, _time.GetTimestamp());
            var rate = entry.Policy.Rates[Math.Clamp(rateIndex, 0, entry.Policy.Rates.Count - 1)];
            var tokens = entry.Tokens[Math.Clamp(rateIndex, 0, entry.Tokens.Length - 1)];
            return ((long)entry.Tokens.Min(), TimeSpan.FromSeconds((rate.Capacity - tokens) / rate.PerSecond));
        }, out var state);
        return known ? state : (_policyFor(key).Rates.Min(r => r.Capacity), TimeSpan.Zero);
    }

    /// <summary>The tokens left at the tightest rate, for X-RateLimit-Remaining style answers.</summary>
    public long Remaining(TKey key) => GetStatistics(key)!.CurrentAvailablePermits;

    protected override RateLimitLease AttemptAcquireCore(TKey resource, int permitCount) =>
        permitCount == 1 ? TryAcquire(resource).ToLease() : throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, "one permit at a time");

    /// <summary>Waits (on the limiter's clock) until a token is free.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TKey resource, int permitCount, CancellationToken cancellationToken) =>
        Leases.WhenGrantedAsync(() => TryAcquire(resource), _time, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sweeper.Dispose();
        }
        base.Dispose(disposing);
    }
}
