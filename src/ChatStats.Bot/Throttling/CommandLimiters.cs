using System.Collections.Concurrent;
using ChatStats.Throttling.Concurrency;
using ChatStats.Throttling.RateLimits;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Throttling;

/// <summary>Every limiter in front of the command handlers, and the gates the expensive work uses.</summary>
internal sealed class CommandLimiters : IDisposable
{
    private readonly ConcurrentDictionary<long, string> _chatTiers = new();
    private readonly LimitsOptions _options;

    public CommandLimiters(IOptions<LimitsOptions> options, TimeProvider time)
    {
        _options = options.Value;
        var o = _options;
        Commands = new SlidingWindowLimiter<long>("commands", new SlidingWindowOptions { PermitLimit = o.CommandsPerUser, Window = TimeSpan.FromSeconds(o.CommandWindowSeconds) }, time);
        Heavy = new SlidingWindowLimiter<long>("heavy", new SlidingWindowOptions { PermitLimit = o.HeavyPerUser, Window = TimeSpan.FromSeconds(o.HeavyWindowSeconds) }, time);
        var policies = o.Tiers.Keys.ToDictionary(k => k, o.TierPolicy, StringComparer.OrdinalIgnoreCase);
        Tiers = new TokenBucketLimiter<long>("tier", chat => policies[_chatTiers.GetValueOrDefault(chat, o.DefaultTier)], time);
        Resources = new ResourceLimiter<long>("resources", o.ResourceLimiter, time);
        Notices = new NoticeThrottle<long>("notices", TimeSpan.FromSeconds(o.CommandWindowSeconds), time);
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

    public SlidingWindowLimiter<long> Commands { get; }
    public SlidingWindowLimiter<long> Heavy { get; }
    public TokenBucketLimiter<long> Tiers { get; }
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
        Commands.Dispose();
        Heavy.Dispose();
        Tiers.Dispose();
        Notices.Dispose();
    }
}
