using System.Globalization;
using ChatStats.Throttling.RateLimits;
using StackExchange.Redis;

namespace ChatStats.Throttling.Shared;

/// <summary>
/// <see cref="TokenBucketLimiter{TKey}"/>'s buckets (every rate of the key's policy must have a token) held in Redis for
/// the whole deployment: one hash per key and policy, refilled and taken from atomically by one script. While Redis is
/// away, an in-process limiter takes over with every rate and burst divided by <c>share()</c> (at least one each).
/// </summary>
public sealed class SharedTokenBucket<TKey> : IRateLimit<TKey>, IDisposable where TKey : notnull
{
    // KEYS[1]: the key's buckets. ARGV: now (ms), number of rates, then per rate its capacity and tokens per ms.
    // Returns {1, 0} when a token of every rate was taken, else {0, ms} until every rate has one again.
    private const string TakeScript = """
        local now = tonumber(ARGV[1])
        local n = tonumber(ARGV[2])
        local last = tonumber(redis.call('HGET', KEYS[1], 'last') or now)
        local elapsed = math.max(0, now - last)
        local tokens = {}
        local wait = 0
        local ttl = 0
        for i = 1, n do
          local capacity = tonumber(ARGV[1 + 2 * i])
          local rate = tonumber(ARGV[2 + 2 * i])
          local t = tonumber(redis.call('HGET', KEYS[1], 't' .. i) or capacity)
          t = math.min(capacity, t + elapsed * rate)
          tokens[i] = t
          if t < 1 then
            wait = math.max(wait, (1 - t) / rate)
          end
          ttl = math.max(ttl, capacity / rate)
        end
        for i = 1, n do
          if wait == 0 then
            tokens[i] = tokens[i] - 1
          end
          redis.call('HSET', KEYS[1], 't' .. i, tostring(tokens[i]))
        end
        redis.call('HSET', KEYS[1], 'last', now)
        redis.call('PEXPIRE', KEYS[1], math.ceil(ttl) + 1000)
        if wait == 0 then
          return {1, 0}
        end
        return {0, math.ceil(wait)}
        """;

    private readonly SharedStore _store;
    private readonly Func<TKey, TokenBucketPolicy> _policyFor;
    private readonly Func<int> _share;
    private readonly Lock _localLock = new();
    private (int Share, TokenBucketLimiter<TKey> Limiter)? _local;

    public SharedTokenBucket(string name, Func<TKey, TokenBucketPolicy> policyFor, SharedStore store, Func<int> share)
    {
        Name = name;
        _policyFor = policyFor;
        _store = store;
        _share = share;
    }

    public string Name { get; }

    public int Count => _local?.Limiter.Count ?? 0;

    public async ValueTask<RateDecision> TryAcquireAsync(TKey key)
    {
        var policy = _policyFor(key);
        var arguments = new RedisValue[2 + 2 * policy.Rates.Count];
        arguments[0] = _store.NowMs;
        arguments[1] = policy.Rates.Count;
        for (var i = 0; i < policy.Rates.Count; i++)
        {
            arguments[2 + 2 * i] = policy.Rates[i].Capacity;
            arguments[3 + 2 * i] = (policy.Rates[i].PerSecond / 1000).ToString("R", CultureInfo.InvariantCulture);
        }
        // The policy's name is part of the key: a chat moved to another tier starts full under it, as in process.
        var redisKey = _store.Key(Name, $"{policy.Name}:{Convert.ToString(key, CultureInfo.InvariantCulture)}");
        var result = await _store.EvaluateAsync(TakeScript, [redisKey], arguments).ConfigureAwait(false);
        if (result is null)
        {
            return Local().TryAcquire(key);
        }
        var values = (RedisResult[])result!;
        var decision = (long)values[0] == 1 ? RateDecision.Allow : new RateDecision(false, TimeSpan.FromMilliseconds(Math.Max(1, (long)values[1])));
        ThrottlingMetrics.Decision(Name, decision.Allowed, policy.Name);
        return decision;
    }

    /// <summary>A policy with every rate and burst divided among <paramref name="share"/> instances.</summary>
    internal static TokenBucketPolicy Divide(TokenBucketPolicy policy, int share) => share <= 1 ? policy
        : policy with { Rates = [.. policy.Rates.Select(r => r with { Limit = Math.Max(1, r.Limit / share), Capacity = Math.Max(1, r.Capacity / share) })] };

    private TokenBucketLimiter<TKey> Local()
    {
        var share = Math.Max(1, _share());
        lock (_localLock)
        {
            if (_local is { } current && current.Share == share)
            {
                return current.Limiter;
            }
            _local?.Limiter.Dispose();
            var limiter = new TokenBucketLimiter<TKey>(Name, key => Divide(_policyFor(key), share), _store.Time);
            _local = (share, limiter);
            return limiter;
        }
    }

    public void Dispose() => _local?.Limiter.Dispose();
}
