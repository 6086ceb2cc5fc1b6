using System.Threading.RateLimiting;

namespace ChatStats.Throttling.RateLimits;

/// <summary>The outcome of a rate check: allowed, or refused with the real time until it would be allowed.</summary>
public readonly record struct RateDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static RateDecision Allow { get; } = new(true, TimeSpan.Zero);

    /// <summary>Whole seconds to tell a person, never less than one.</summary>
    public int RetryAfterSeconds => Allowed ? 0 : Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));

    internal RateLimitLease ToLease() => Allowed ? Leases.Acquired : new Leases.Refused(RetryAfter);
}

/// <summary>Leases for <see cref="PartitionedRateLimiter{TResource}"/> callers; success is one shared instance.</summary>
internal static class Leases
{
    public static readonly RateLimitLease Acquired = new Success();

    /// <summary>Asks until a permit is granted, waiting (on the limiter's clock) as long as each refusal says.</summary>
    public static async ValueTask<RateLimitLease> WhenGrantedAsync(Func<RateDecision> decide, TimeProvider time, CancellationToken ct)
    {
        while (true)
        {
            var decision = decide();
            if (decision.Allowed)
            {
                return Acquired;
            }
            await Task.Delay(decision.RetryAfter, time, ct).ConfigureAwait(false);
        }
    }

    private sealed class Success : RateLimitLease
    {
        public override bool IsAcquired => true;
        public override IEnumerable<string> MetadataNames => [];
        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }

    internal sealed class Refused(TimeSpan retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => false;
        public override IEnumerable<string> MetadataNames => [MetadataName.RetryAfter.Name];
        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
