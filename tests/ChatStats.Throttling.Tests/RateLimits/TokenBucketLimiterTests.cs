using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Throttling.Tests.RateLimits;

public sealed class TokenBucketLimiterTests
{
    private static readonly TokenBucketPolicy Free = TokenBucketPolicy.PerSecondMinuteHour("FREE", 5, 100, 1_000, 10);
    private static readonly TokenBucketPolicy Premium = TokenBucketPolicy.PerSecondMinuteHour("PREMIUM", 20, 500, 10_000, 50);
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void TheBurstIsAllowedThenThePerSecondRateWithTheExactWait()
    {
        using var limiter = new TokenBucketLimiter<long>("tier", _ => Free, _time);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.TryAcquire(-100).Allowed);
        }

        var refused = limiter.TryAcquire(-100);

        Assert.False(refused.Allowed);
        Assert.Equal(0.2, refused.RetryAfter.TotalSeconds, 6);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.True(limiter.TryAcquire(-100).Allowed);
    }

    [Fact]
    public void ThePerMinuteAndPerHourRatesHoldWhenTheBurstRefills()
    {
        using var limiter = new TokenBucketLimiter<long>("tier", _ => Free, _time);
        var allowed = 0;
        // Ask five times a second, forever: the per-second bucket keeps up, the per-minute one must not.
        for (var tick = 0; tick < 5 * 600; tick++)
        {
            if (limiter.TryAcquire(-1).Allowed)
            {
                allowed++;
            }
            _time.Advance(TimeSpan.FromMilliseconds(200));
        }

        // Ten minutes: 100 to start with plus 100 a minute, and never more than the hour's 1,000.
        Assert.InRange(allowed, 1_000, 1_100);
        var refused = limiter.TryAcquire(-1);
        Assert.False(refused.Allowed);
    }

    [Fact]
    public void AChatsTierCanChangeAndTakesEffectAtOnce()
    {
        var tier = Free;
        using var limiter = new TokenBucketLimiter<long>("tier", _ => tier, _time);
        for (var i = 0; i < 10; i++)
        {
            limiter.TryAcquire(-5);
        }
        Assert.False(limiter.TryAcquire(-5).Allowed);

        tier = Premium;

        Assert.True(limiter.TryAcquire(-5).Allowed);
        Assert.Equal(49, limiter.Remaining(-5));
    }

    [Fact]
    public void ChatsWhoseBucketsRefilledAreEvicted()
    {
        using var limiter = new TokenBucketLimiter<long>("tier", _ => Free, _time);
        for (var chat = 0L; chat < 1_000; chat++)
        {
            limiter.TryAcquire(chat);
        }
        Assert.Equal(1_000, limiter.Count);

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(0, limiter.Count);
    }

    [Fact]
    public void ImpossibleRatesAreRefused() =>
        Assert.Throws<ArgumentException>(() => TokenBucketPolicy.PerSecondMinuteHour("BROKEN", 0, 10, 10, 1));

    [Fact]
    public void PeekTellsWhatIsLeftAndWhenTheMinuteBucketIsFullWithoutTakingAnything()
    {
        using var limiter = new TokenBucketLimiter<string>("peek", _ => Free, _time);
        Assert.Equal((10L, TimeSpan.Zero), limiter.Peek("new", 1));

        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.TryAcquire("ip").Allowed);
        }
        var (remaining, fullAfter) = limiter.Peek("ip", 1);
        var again = limiter.Peek("ip", 1);

        Assert.Equal(0, remaining);
        // Ten of the minute's hundred tokens are gone; they come back at 100/60 per second: 6 s.
        Assert.Equal(6.0, fullAfter.TotalSeconds, precision: 6);
        Assert.Equal((remaining, fullAfter), again);
    }
}
