using System.ComponentModel.DataAnnotations;
using ChatStats.Throttling.Concurrency;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Bot.Throttling;

internal sealed class TierLimits
{
    [Range(1, 1_000_000, ErrorMessage = "must be at least 1")] public int PerSecond { get; set; }
    [Range(1, 10_000_000, ErrorMessage = "must be at least 1")] public int PerMinute { get; set; }
    [Range(1, 100_000_000, ErrorMessage = "must be at least 1")] public int PerHour { get; set; }
    [Range(1, 1_000_000, ErrorMessage = "must be at least 1")] public int Burst { get; set; }
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

    public TokenBucketPolicy TierPolicy(string name)
    {
        var tier = Tiers[name];
        return TokenBucketPolicy.PerSecondMinuteHour(name.ToUpperInvariant(), tier.PerSecond, tier.PerMinute, tier.PerHour, tier.Burst);
    }
}
