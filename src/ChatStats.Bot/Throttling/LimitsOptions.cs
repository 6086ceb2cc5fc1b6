using System.ComponentModel.DataAnnotations;
using ChatStats.Throttling.Concurrency;
using ChatStats.Throttling.LoadShedding;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Bot.Throttling;

internal sealed class TierLimits
{
    [Range(1, 1_000_000, ErrorMessage = "must be at least 1")] public int PerSecond { get; set; }
    [Range(1, 10_000_000, ErrorMessage = "must be at least 1")] public int PerMinute { get; set; }
    [Range(1, 100_000_000, ErrorMessage = "must be at least 1")] public int PerHour { get; set; }
    [Range(1, 1_000_000, ErrorMessage = "must be at least 1")] public int Burst { get; set; }
}

/// <summary>When the process counts as under pressure (Limits:LoadShedding); the defaults suit a 2–4 core VPS.</summary>
internal sealed class LoadSheddingSettings
{
    public bool Enabled { get; set; } = true;
    public double ElevatedCpuPercent { get; set; } = 75;
    public double CriticalCpuPercent { get; set; } = 92;
    public long ElevatedThreadPoolQueue { get; set; } = 100;
    public long CriticalThreadPoolQueue { get; set; } = 1_000;
    public int ElevatedTimerLagMs { get; set; } = 200;
    public int CriticalTimerLagMs { get; set; } = 1_000;
    public int SamplesToEnter { get; set; } = 3;
    public int CalmSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Check()
    {
        if (ElevatedCpuPercent is <= 0 or > 100 || CriticalCpuPercent < ElevatedCpuPercent || CriticalCpuPercent > 100)
        {
            yield return new ValidationResult("CPU marks must be in (0, 100] with CriticalCpuPercent at or above ElevatedCpuPercent.", ["LoadShedding:CriticalCpuPercent"]);
        }
        if (ElevatedThreadPoolQueue < 1 || CriticalThreadPoolQueue < ElevatedThreadPoolQueue)
        {
            yield return new ValidationResult("thread-pool marks must be at least 1 with CriticalThreadPoolQueue at or above ElevatedThreadPoolQueue.", ["LoadShedding:CriticalThreadPoolQueue"]);
        }
        if (ElevatedTimerLagMs < 1 || CriticalTimerLagMs < ElevatedTimerLagMs)
        {
            yield return new ValidationResult("timer-lag marks must be at least 1 ms with CriticalTimerLagMs at or above ElevatedTimerLagMs.", ["LoadShedding:CriticalTimerLagMs"]);
        }
        if (SamplesToEnter is < 1 or > 600)
        {
            yield return new ValidationResult("must be between 1 and 600 readings.", ["LoadShedding:SamplesToEnter"]);
        }
        if (CalmSeconds is < 0 or > 3600)
        {
            yield return new ValidationResult("must be between 0 and 3600 seconds.", ["LoadShedding:CalmSeconds"]);
        }
    }
}

/// <summary>The throttling in front of every handler; defaults from the seed guides.</summary>
internal sealed class LimitsOptions : IValidatableObject
{
    public const string Section = "Limits";
    public static readonly string[] OverloadPolicies = ["drop_newest", "drop_oldest", "block"];

    public bool Enabled { get; set; } = true;

    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")] public int CommandsPerUser { get; set; } = 10;
    [Range(1, 86_400, ErrorMessage = "must be between 1 and 86400 seconds")] public int CommandWindowSeconds { get; set; } = 60;
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")] public int HeavyPerUser { get; set; } = 3;
    [Range(1, 86_400, ErrorMessage = "must be between 1 and 86400 seconds")] public int HeavyWindowSeconds { get; set; } = 300;

    [Range(1, 1_000, ErrorMessage = "must be between 1 and 1000")] public int MaxConcurrentPerUser { get; set; } = 3;
    [Range(0, 10_000, ErrorMessage = "must be between 0 and 10000")] public int MaxQueueSizePerUser { get; set; } = 10;
    [Range(1, 100_000, ErrorMessage = "must be between 1 and 100000")] public int MaxConcurrentGlobal { get; set; } = 100;
    [Range(0, 1_000_000, ErrorMessage = "must be between 0 and 1000000")] public int MaxQueueSizeGlobal { get; set; } = 500;
    [Range(0.1, 3600, ErrorMessage = "must be between 0.1 and 3600 seconds")] public double QueueTimeoutSeconds { get; set; } = 30;
    [Range(1, 3600, ErrorMessage = "must be between 1 and 3600 seconds")] public int RetryAfterSeconds { get; set; } = 5;
    public string OverloadPolicy { get; set; } = "drop_newest";

    /// <summary>AI summaries at once (the AI gate).</summary>
    [Range(1, 1_000, ErrorMessage = "must be between 1 and 1000")] public int AiConcurrency { get; set; } = 8;

    /// <summary>PDF renders at once (the PDF gate); 0 means one per processor.</summary>
    [Range(0, 1_000, ErrorMessage = "must be between 0 (one per processor) and 1000")] public int PdfConcurrency { get; set; }

    [Range(0, 10_000, ErrorMessage = "must be between 0 and 10000")] public int GateQueueLimit { get; set; } = 50;
    [Range(1, 3600, ErrorMessage = "must be between 1 and 3600 seconds")] public int GateWaitSeconds { get; set; } = 60;

    public string DefaultTier { get; set; } = "FREE";

    /// <summary>Groups that had messages (or took the bot in) in the last 24 h that this server serves at most; 0 means no cap.</summary>
    [Range(0, 1_000_000, ErrorMessage = "must be between 0 (no cap) and 1000000")] public int MaxActiveChats { get; set; } = 200;

    /// <summary>The operator's Telegram user id: capacity alerts arrive as private messages. 0 means log and metric only.</summary>
    [Range(0, long.MaxValue, ErrorMessage = "must be a Telegram user id (a positive number) or 0")] public long OwnerUserId { get; set; }

    /// <summary>Heavy jobs (reports, AI summaries) a chat may start per day, counted in the chat's time zone; 0 means no quota.</summary>
    [Range(0, 100_000, ErrorMessage = "must be between 0 (no quota) and 100000")] public int DailyHeavyQuota { get; set; } = 20;

    public LoadSheddingSettings LoadShedding { get; set; } = new();

    public Dictionary<string, TierLimits> Tiers { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["FREE"] = new() { PerSecond = 5, PerMinute = 100, PerHour = 1_000, Burst = 10 },
        ["PREMIUM"] = new() { PerSecond = 20, PerMinute = 500, PerHour = 10_000, Burst = 50 },
        ["ENTERPRISE"] = new() { PerSecond = 100, PerMinute = 3_000, PerHour = 50_000, Burst = 200 },
        ["INTERNAL"] = new() { PerSecond = 1_000, PerMinute = 30_000, PerHour = 500_000, Burst = 2_000 },
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!OverloadPolicies.Contains(OverloadPolicy, StringComparer.OrdinalIgnoreCase))
        {
            yield return new ValidationResult($"'{OverloadPolicy}' is not a policy; use drop_newest, drop_oldest or block (LIMITS_OVERLOAD_POLICY).", [nameof(OverloadPolicy)]);
        }
        if (!Tiers.ContainsKey(DefaultTier))
        {
            yield return new ValidationResult($"'{DefaultTier}' is not one of the tiers ({string.Join(", ", Tiers.Keys)}).", [nameof(DefaultTier)]);
        }
        foreach (var result in LoadShedding.Check())
        {
            yield return result;
        }
        foreach (var (name, tier) in Tiers)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(tier, new ValidationContext(tier), results, validateAllProperties: true);
            foreach (var result in results)
            {
                yield return new ValidationResult(result.ErrorMessage, [$"Tiers:{name}:{result.MemberNames.FirstOrDefault()}"]);
            }
        }
    }

    public ResourceLimiterOptions ResourceLimiter => new()
    {
        MaxConcurrentPerUser = MaxConcurrentPerUser,
        MaxQueuePerUser = MaxQueueSizePerUser,
        MaxConcurrentGlobal = MaxConcurrentGlobal,
        MaxQueueGlobal = MaxQueueSizeGlobal,
        QueueTimeout = TimeSpan.FromSeconds(QueueTimeoutSeconds),
        RetryAfter = TimeSpan.FromSeconds(RetryAfterSeconds),
        Policy = OverloadPolicy.ToLowerInvariant() switch
        {
            "drop_oldest" => global::ChatStats.Throttling.Concurrency.OverloadPolicy.DropOldest,
            "block" => global::ChatStats.Throttling.Concurrency.OverloadPolicy.Block,
            _ => global::ChatStats.Throttling.Concurrency.OverloadPolicy.DropNewest,
        },
    };

    public LoadSheddingOptions LoadSheddingOptions => new()
    {
        ElevatedCpuPercent = LoadShedding.ElevatedCpuPercent,
        CriticalCpuPercent = LoadShedding.CriticalCpuPercent,
        ElevatedThreadPoolQueue = LoadShedding.ElevatedThreadPoolQueue,
        CriticalThreadPoolQueue = LoadShedding.CriticalThreadPoolQueue,
        ElevatedTimerLag = TimeSpan.FromMilliseconds(LoadShedding.ElevatedTimerLagMs),
        CriticalTimerLag = TimeSpan.FromMilliseconds(LoadShedding.CriticalTimerLagMs),
        SamplesToEnter = LoadShedding.SamplesToEnter,
        CalmToExit = TimeSpan.FromSeconds(LoadShedding.CalmSeconds),
    };

    public TokenBucketPolicy TierPolicy(string name)
    {
        var tier = Tiers[name];
        return TokenBucketPolicy.PerSecondMinuteHour(name.ToUpperInvariant(), tier.PerSecond, tier.PerMinute, tier.PerHour, tier.Burst);
    }
}
