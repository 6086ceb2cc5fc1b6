using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using ChatStats.Bot.Throttling;
using ChatStats.Throttling.RateLimits;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Web;

/// <summary>Who a request to <c>/api</c> is, for limiting: an API key's tier, or an anonymous IP.</summary>
internal sealed record ApiCaller(string Partition, TokenBucketPolicy Policy, bool InvalidKey)
{
    public int PerMinute => Policy.Rates[1].Limit;
}

/// <summary>
/// The limiter ASP.NET Core's rate-limiting middleware runs for every request: <c>/api/*</c> is limited by the caller's
/// tier (the API key's, from Web:ApiKeys; FREE keyed by IP without one, at Web:AnonymousPerMinute), with the same
/// token buckets the bot uses for chats; everything else (health, metrics) passes.
/// </summary>
internal sealed class ApiRateLimiter : PartitionedRateLimiter<HttpContext>
{
    private const string CallerItem = "chatstats.api.caller";
    private readonly TokenBucketLimiter<string> _buckets;
    private readonly Dictionary<string, TokenBucketPolicy> _policies;
    private readonly Dictionary<string, string> _keys;
    private readonly TokenBucketPolicy _anonymous;

    public ApiRateLimiter(IOptions<WebOptions> web, IOptions<LimitsOptions> limits, TimeProvider time)
    {
        var l = limits.Value;
        _policies = l.Tiers.Keys.ToDictionary(k => k.ToUpperInvariant(), l.TierPolicy, StringComparer.Ordinal);
        foreach (var (key, tier) in web.Value.ApiKeys)
        {
            if (!_policies.ContainsKey(tier.ToUpperInvariant()))
            {
                throw new OptionsValidationException(WebOptions.Section, typeof(WebOptions),
                    [$"Web:ApiKeys: key '{key[..Math.Min(4, key.Length)]}…' names tier '{tier}', which is not one of {string.Join(", ", _policies.Keys)}."]);
            }
        }
        // Keys are compared by hash: the table never holds a key itself, and lookups take the same time for any key.
        _keys = web.Value.ApiKeys.ToDictionary(k => Hash(k.Key), k => k.Value.ToUpperInvariant(), StringComparer.Ordinal);
        var free = l.Tiers.TryGetValue("FREE", out var f) ? f : l.Tiers[l.DefaultTier];
        var perMinute = web.Value.AnonymousPerMinute;
        _anonymous = TokenBucketPolicy.PerSecondMinuteHour("ANONYMOUS", free.PerSecond, perMinute, Math.Max(free.PerHour, perMinute), free.Burst);
        _buckets = new TokenBucketLimiter<string>("api", PolicyOf, time);
    }

    public static bool Applies(HttpContext context) => context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);

    /// <summary>Who is calling, worked out once per request.</summary>
    public ApiCaller Caller(HttpContext context)
    {
        if (context.Items.TryGetValue(CallerItem, out var known) && known is ApiCaller caller)
        {
            return caller;
        }
        var key = context.Request.Headers["X-API-Key"].ToString();
        if (key.Length > 0 && _keys.TryGetValue(Hash(key), out var tier))
        {
            caller = new ApiCaller($"key:{tier}:{Hash(key)[..16]}", _policies[tier], false);
        }
        else
        {
            var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            caller = new ApiCaller($"ip:{ip}", _anonymous, key.Length > 0);
        }
        context.Items[CallerItem] = caller;
        return caller;
    }

    /// <summary>X-RateLimit-Limit (per minute), -Remaining (at the tightest rate) and -Reset (epoch seconds when the minute bucket is full).</summary>
    public void WriteHeaders(HttpContext context, TimeProvider time)
    {
        var caller = Caller(context);
        var (remaining, fullAfter) = _buckets.Peek(caller.Partition, 1);
        var headers = context.Response.Headers;
        headers["X-RateLimit-Limit"] = caller.PerMinute.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = Math.Max(0, remaining).ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = (time.GetUtcNow() + fullAfter).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    }

    private TokenBucketPolicy PolicyOf(string partition) =>
        partition.StartsWith("key:", StringComparison.Ordinal) ? _policies[partition.Split(':')[1]] : _anonymous;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
        Applies(resource) ? _buckets.AttemptAcquire(Caller(resource).Partition, permitCount) : Pass.Instance;

    // HTTP callers are not queued: a refusal is answered at once with the time to wait.
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _buckets.Dispose();
        }
        base.Dispose(disposing);
    }

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private sealed class Pass : RateLimitLease
    {
        public static readonly Pass Instance = new();
        public override bool IsAcquired => true;
        public override IEnumerable<string> MetadataNames => [];
        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
