using System.Collections.Concurrent;
using ChatStats.Throttling.Concurrency;
using ChatStats.Throttling.RateLimits;
using ChatStats.Throttling.Shared;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Throttling;

/// <summary>Every limiter in front of the command handlers, and the gates the expensive work uses.</summary>
internal sealed class CommandLimiters : IDisposable
{
    private readonly ConcurrentDictionary<long, string> _chatTiers = new();
    private readonly LimitsOptions _options;

    /// <summary>
    /// With Redis (<paramref name="shared"/>), the per-person limits, the chat tiers and the notice throttle are counted for
    /// every instance at once, and divided among the live bot instances while Redis is away. The concurrency limiter and
    /// the gates stay per process on purpose: they guard this host's CPU and memory, which no other host shares.
    /// </summary>
    public CommandLimiters(IOptions<LimitsOptions> options, TimeProvider time, Scaling.SharedLimits? shared = null, Scaling.DeploymentPeers? peers = null)
    {
        _options = options.Value;
        var o = _options;
        var commands = new SlidingWindowOptions { PermitLimit = o.CommandsPerUser, Window = TimeSpan.FromSeconds(o.CommandWindowSeconds) };
        var heavy = new SlidingWindowOptions { PermitLimit = o.HeavyPerUser, Window = TimeSpan.FromSeconds(o.HeavyWindowSeconds) };
        var notices = new SlidingWindowOptions { PermitLimit = 1, Window = TimeSpan.FromSeconds(o.CommandWindowSeconds) };
        var policies = o.Tiers.Keys.ToDictionary(k => k, o.TierPolicy, StringComparer.OrdinalIgnoreCase);
        TokenBucketPolicy PolicyOf(long chat) => policies[_chatTiers.GetValueOrDefault(chat, o.DefaultTier)];
        if (shared?.Store is { } store)
        {
            Func<int> share = () => peers?.Answering ?? 1;
            Commands = new SharedWindowLimiter<long>("commands", commands, WindowStamp.Granted, store, share);
            Heavy = new SharedWindowLimiter<long>("heavy", heavy, WindowStamp.Granted, store, share);
            Tiers = new SharedTokenBucket<long>("tier", PolicyOf, store, share);
            Notices = new NoticeThrottle<long>("notices", new SharedWindowLimiter<long>("notices", notices, WindowStamp.Granted, store, share));
        }
        else
        {
            Commands = new SlidingWindowLimiter<long>("commands", commands, time);
            Heavy = new SlidingWindowLimiter<long>("heavy", heavy, time);
            Tiers = new TokenBucketLimiter<long>("tier", PolicyOf, time);
            Notices = new NoticeThrottle<long>("notices", notices.Window, time);
        }
        Resources = new ResourceLimiter<long>("resources", o.ResourceLimiter, time);
        RefusedUsers = new RefusalTally<long>(RefusalWindow, 10_000, time);
        RefusedChats = new RefusalTally<long>(RefusalWindow, 10_000, time);
        Ai = new WorkGate("ai", new WorkGateOptions { Capacity = o.AiConcurrency, QueueLimit = o.GateQueueLimit, WaitTimeout = TimeSpan.FromSeconds(o.GateWaitSeconds) }, time);
        Pdf = new WorkGate("pdf", new WorkGateOptions
        {
            Capacity = o.PdfConcurrency == 0 ? Environment.ProcessorCount : o.PdfConcurrency,
            QueueLimit = o.GateQueueLimit,
            WaitTimeout = TimeSpan.FromSeconds(o.GateWaitSeconds),
        }, time);
    }

    public IRateLimit<long> Commands { get; }
    public IRateLimit<long> Heavy { get; }
    public IRateLimit<long> Tiers { get; }
    public ResourceLimiter<long> Resources { get; }
    public NoticeThrottle<long> Notices { get; }

    /// <summary>Refusals are counted per user and per chat over the last 10 to 20 minutes, for /admin's most limited.</summary>
    public static readonly TimeSpan RefusalWindow = TimeSpan.FromMinutes(10);

    public RefusalTally<long> RefusedUsers { get; }
    public RefusalTally<long> RefusedChats { get; }
    public WorkGate Ai { get; }
    public WorkGate Pdf { get; }

    /// <summary>Records the tier the database has for a chat, so its bucket follows the operator's setting.</summary>
    public void SetTier(long chatId, string? tier)
    {
        var name = tier is not null && _options.Tiers.ContainsKey(tier) ? tier : _options.DefaultTier;
        if (_chatTiers.Count > 100_000)
        {
            _chatTiers.Clear();
        }
        _chatTiers[chatId] = name;
    }

    public void Dispose()
    {
        (Commands as IDisposable)?.Dispose();
        (Heavy as IDisposable)?.Dispose();
        (Tiers as IDisposable)?.Dispose();
        Notices.Dispose();
    }
}
