using System.Globalization;
using System.Threading.RateLimiting;
using ChatStats.Throttling.RateLimits;
using StackExchange.Redis;

namespace ChatStats.Throttling.Shared;

/// <summary>How a <see cref="SharedWindowLimiter{TKey}"/> dates a permit.</summary>
public enum WindowStamp
{
    /// <summary>When it is granted, as <see cref="SlidingWindowLimiter{TKey}"/> does: a person's commands.</summary>
    Granted,

    /// <summary>
    /// When its lease is disposed, as <see cref="ArrivalWindowLimiter{TKey}"/> does: a request to a remote API that counts
    /// on arrival. Until then it counts as in flight.
    /// </summary>
    Returned,
}

/// <summary>
/// At most <see cref="SlidingWindowOptions.PermitLimit"/> per key in any window, counted in Redis for every process of
/// the deployment (a sorted set of permits per key, taken and trimmed atomically by one script). While Redis is away the
/// limiter counts in process with its limit divided by <c>share()</c>, the number of live instances counting the same
/// limit, so the deployment as a whole still stays under it; when Redis is back it counts there again.
/// <para>With <see cref="WindowStamp.Returned"/> a permit in flight is held in Redis at "taken + in-flight ceiling" and
/// re-dated when its lease is disposed; a process that dies mid-request leaves it to expire from there, so a crash costs
/// the limit at most that ceiling plus one window.</para>
/// </summary>
public sealed class SharedWindowLimiter<TKey> : PartitionedRateLimiter<TKey>, IRateLimit<TKey> where TKey : notnull
{
    // KEYS[1]: the key's permits. ARGV: now, window, limit, cost, permit id, in-flight ceiling (ms; 0 dates a permit now).
    // Returns {1, 0} when taken; {0, ms} until enough permits leave the window; {0, -1} when that waits on one in flight.
    private const string TakeScript = """
        local now = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local limit = tonumber(ARGV[3])
        local cost = tonumber(ARGV[4])
        local flight = tonumber(ARGV[6])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local used = redis.call('ZCARD', KEYS[1])
        if used + cost <= limit then
          for i = 1, cost do
            redis.call('ZADD', KEYS[1], now + flight, ARGV[5] .. ':' .. i)
          end
          redis.call('PEXPIRE', KEYS[1], window + flight + 1000)
          return {1, 0}
        end
        local blocking = redis.call('ZRANGE', KEYS[1], used + cost - limit - 1, used + cost - limit - 1, 'WITHSCORES')
        local at = tonumber(blocking[2])
        if at > now then
          return {0, -1}
        end
        return {0, at + window - now}
        """;

    /// <summary>How often a wait that depends on a permit in flight asks again.</summary>
    private static readonly TimeSpan InFlightPoll = TimeSpan.FromMilliseconds(50);

    private readonly SharedStore _store;
    private readonly SlidingWindowOptions _options;
    private readonly WindowStamp _stamp;
    private readonly Func<int> _share;
    private readonly TimeSpan _inFlightCeiling;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private long _permits;
    private (int Share, PartitionedRateLimiter<TKey> Limiter, IRateLimit<TKey>? Granted)? _local;
    private readonly Lock _localLock = new();

    public SharedWindowLimiter(string name, SlidingWindowOptions options, WindowStamp stamp, SharedStore store, Func<int> share, TimeSpan? inFlightCeiling = null)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        _stamp = stamp;
        _store = store;
        _share = share;
        _inFlightCeiling = inFlightCeiling ?? TimeSpan.FromSeconds(10);
    }

    public string Name { get; }

    public int PermitLimit => _options.PermitLimit;

    public TimeSpan Window => _options.Window;

    public int Count => _local is { } local ? local.Limiter switch
    {
        SlidingWindowLimiter<TKey> s => s.Count,
        ArrivalWindowLimiter<TKey> a => a.Count,
        _ => 0,
    } : 0;

    /// <summary>The limit this process holds alone while Redis is away: its share of the whole, at least one.</summary>
    public int LocalLimit => Math.Max(1, _options.PermitLimit / Math.Max(1, _share()));

    private static string Id(TKey key) => Convert.ToString(key, CultureInfo.InvariantCulture)!;

    public async ValueTask<RateDecision> TryAcquireAsync(TKey key)
    {
        if (_stamp != WindowStamp.Granted)
        {
            throw new InvalidOperationException($"{Name} dates permits when they come back: take them with AcquireAsync or AttemptAcquire and dispose the lease");
        }
        var result = await _store.EvaluateAsync(TakeScript, [_store.Key(Name, Id(key))], Arguments(1)).ConfigureAwait(false);
        if (result is null)
        {
            return ((SlidingWindowLimiter<TKey>)Local().Limiter).TryAcquire(key);
        }
        var decision = Decide(result);
        ThrottlingMetrics.Decision(Name, decision.Allowed);
        return decision;
    }

    /// <summary>Takes units if the window has room now, without waiting; the asynchronous form of <see cref="PartitionedRateLimiter{TResource}.AttemptAcquire"/>.</summary>
    public async ValueTask<RateLimitLease> AttemptAcquireAsync(TKey resource, int permitCount = 1)
    {
        var cost = Math.Clamp(permitCount, 0, _options.PermitLimit);
        var key = _store.Key(Name, Id(resource));
        var (arguments, id) = Take(cost);
        var result = await _store.EvaluateAsync(TakeScript, [key], arguments).ConfigureAwait(false);
        if (result is null)
        {
            return Local().Limiter.AttemptAcquire(resource, cost);
        }
        var decision = Decide(result);
        ThrottlingMetrics.Decision(Name, decision.Allowed);
        return Lease(decision, key, id, cost);
    }

    /// <summary>
    /// Blocks a thread on Redis: under thread-pool starvation StackExchange.Redis can time out on a blocking call it would
    /// have answered asynchronously. Use <see cref="AttemptAcquireAsync"/> or AcquireAsync (the sender only waits).
    /// </summary>
    protected override RateLimitLease AttemptAcquireCore(TKey resource, int permitCount)
    {
        var cost = Math.Clamp(permitCount, 0, _options.PermitLimit);
        var key = _store.Key(Name, Id(resource));
        var (arguments, id) = Take(cost);
        var result = _store.Evaluate(TakeScript, [key], arguments);
        return result is null ? Local().Limiter.AttemptAcquire(resource, cost) : Lease(Decide(result), key, id, cost);
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(TKey resource, int permitCount, CancellationToken cancellationToken)
    {
        var cost = Math.Clamp(permitCount, 0, _options.PermitLimit);
        var key = _store.Key(Name, Id(resource));
        while (true)
        {
            var (arguments, id) = Take(cost);
            var result = await _store.EvaluateAsync(TakeScript, [key], arguments).ConfigureAwait(false);
            if (result is null)
            {
                return await Local().Limiter.AcquireAsync(resource, cost, cancellationToken).ConfigureAwait(false);
            }
            var decision = Decide(result);
            ThrottlingMetrics.Decision(Name, decision.Allowed);
            if (decision.Allowed)
            {
                return Lease(decision, key, id, cost);
            }
            // Another process may free the window sooner than our estimate (a permit in flight coming back): never sleep
            // longer than a second between looks.
            var wait = decision.RetryAfter > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : decision.RetryAfter;
            await Task.Delay(wait, _store.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Only the in-process fallback keeps statistics; Redis's count is not read for them.</summary>
    public override RateLimiterStatistics? GetStatistics(TKey resource) => _local?.Limiter.GetStatistics(resource);

    private RedisValue[] Arguments(int cost) => Take(cost).Arguments;

    private (RedisValue[] Arguments, string Id) Take(int cost)
    {
        var id = $"{_instance}:{Interlocked.Increment(ref _permits)}";
        var flight = _stamp == WindowStamp.Returned ? (long)_inFlightCeiling.TotalMilliseconds : 0;
        return ([_store.NowMs, (long)_options.Window.TotalMilliseconds, _options.PermitLimit, cost, id, flight], id);
    }

    private static RateDecision Decide(RedisResult result)
    {
        var values = (RedisResult[])result!;
        if ((long)values[0] == 1)
        {
            return RateDecision.Allow;
        }
        var ms = (long)values[1];
        return new RateDecision(false, ms < 0 ? InFlightPoll : TimeSpan.FromMilliseconds(Math.Max(1, ms)));
    }

    private RateLimitLease Lease(RateDecision decision, RedisKey key, string id, int cost) =>
        !decision.Allowed ? decision.ToLease()
            : _stamp == WindowStamp.Granted || cost == 0 ? Leases.Acquired
            : new ReturningLease(() => Return(key, id, cost));

    /// <summary>
    /// Re-dates the permits to the moment the answer came back (only if they are still there: XX), rounded up to the
    /// millisecond: the remote API counted the request at or before that moment, to the microsecond. Rounded down, a
    /// window kept full by a flood could let the next permit go up to a millisecond before the API's window ended, and
    /// the API refuses such a request.
    /// </summary>
    private void Return(RedisKey key, string id, int cost)
    {
        var now = _store.NowMsRoundedUp;
        var entries = new SortedSetEntry[cost];
        for (var i = 0; i < cost; i++)
        {
            entries[i] = new SortedSetEntry($"{id}:{i + 1}", now);
        }
        _store.Send(db => db.SortedSetAddAsync(key, entries, SortedSetWhen.Exists, CommandFlags.FireAndForget));
    }

    /// <summary>The in-process limiter for the current share, made again when the number of live instances changes.</summary>
    private (int Share, PartitionedRateLimiter<TKey> Limiter, IRateLimit<TKey>? Granted) Local()
    {
        var share = Math.Max(1, _share());
        lock (_localLock)
        {
            if (_local is { } current && current.Share == share)
            {
                return current;
            }
            var options = _options with { PermitLimit = Math.Max(1, _options.PermitLimit / share) };
            PartitionedRateLimiter<TKey> limiter = _stamp == WindowStamp.Granted
                ? new SlidingWindowLimiter<TKey>(Name, options, _store.Time)
                : new ArrivalWindowLimiter<TKey>(Name, options, _store.Time);
            _local?.Limiter.Dispose();
            _local = (share, limiter, limiter as IRateLimit<TKey>);
            return _local.Value;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _local?.Limiter.Dispose();
        }
        base.Dispose(disposing);
    }
}
