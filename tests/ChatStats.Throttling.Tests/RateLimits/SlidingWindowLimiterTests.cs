using System.Threading.RateLimiting;
using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Throttling.Tests.RateLimits;

public sealed class SlidingWindowLimiterTests
{
    private readonly ManualTimeProvider _time = new();

    private SlidingWindowLimiter<long> Limiter(int limit, int seconds) =>
        new("test", new SlidingWindowOptions { PermitLimit = limit, Window = TimeSpan.FromSeconds(seconds) }, _time);

    [Fact]
    public void CommandLimiterAllowsTenPerMinuteAndSaysExactlyWhenTheNextIsAllowed()
    {
        using var limiter = Limiter(10, 60);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.TryAcquire(1).Allowed);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var refused = limiter.TryAcquire(1);

        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(50), refused.RetryAfter);
        Assert.Equal(50, refused.RetryAfterSeconds);
        _time.Advance(TimeSpan.FromSeconds(49));
        Assert.False(limiter.TryAcquire(1).Allowed);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAcquire(1).Allowed);
        Assert.False(limiter.TryAcquire(1).Allowed);
    }

    [Fact]
    public void StatsLimiterRejectsFourthRequestWithinFiveMinutes()
    {
        using var limiter = Limiter(3, 300);
        Assert.True(limiter.TryAcquire(7).Allowed);
        _time.Advance(TimeSpan.FromSeconds(100));
        Assert.True(limiter.TryAcquire(7).Allowed);
        Assert.True(limiter.TryAcquire(7).Allowed);

        var fourth = limiter.TryAcquire(7);

        Assert.False(fourth.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(200), fourth.RetryAfter);
        Assert.True(limiter.TryAcquire(8).Allowed);
    }

    [Fact]
    public void ARefusalDoesNotUseAPermit()
    {
        using var limiter = Limiter(1, 10);
        limiter.TryAcquire(1);
        for (var i = 0; i < 100; i++)
        {
            Assert.False(limiter.TryAcquire(1).Allowed);
        }
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(limiter.TryAcquire(1).Allowed);
    }

    [Fact]
    public void ThePartitionedRateLimiterApiCarriesRetryAfterMetadata()
    {
        using var limiter = Limiter(1, 30);
        using var first = limiter.AttemptAcquire(1);
        _time.Advance(TimeSpan.FromSeconds(12));

        using var second = limiter.AttemptAcquire(1);

        Assert.True(first.IsAcquired);
        Assert.False(second.IsAcquired);
        Assert.True(second.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(18), retryAfter);
        Assert.Equal(0, limiter.GetStatistics(1)!.CurrentAvailablePermits);
    }

    [Fact]
    public void AHundredThousandUsersWhoGoQuietLeaveNoMemoryBehind()
    {
        using var limiter = Limiter(10, 60);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        for (var user = 0L; user < 100_000; user++)
        {
            limiter.TryAcquire(user);
        }
        var loaded = GC.GetTotalMemory(forceFullCollection: true);

        // The sweep runs on the limiter's own timer: once a minute has passed, every one of them is gone.
        _time.Advance(TimeSpan.FromSeconds(61));
        var after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.Equal(0, limiter.Count);
        Assert.True(loaded - baseline > 5_000_000, $"100,000 partitions should have taken memory ({loaded - baseline} bytes)");
        Assert.True(after - baseline < 1_000_000, $"memory after eviction is {after - baseline} bytes above the baseline");
    }

    [Fact]
    public async Task EvictionRacingAcquisitionNeverLosesAPermit()
    {
        using var limiter = Limiter(2, 60);
        var allowed = 0;
        using var stop = new CancellationTokenSource();
        var sweeper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                limiter.Sweep();
            }
        });

        Parallel.For(0, 200_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            if (limiter.TryAcquire(i % 50).Allowed)
            {
                Interlocked.Increment(ref allowed);
            }
        });
        await stop.CancelAsync();
        await sweeper;

        Assert.Equal(100, allowed);
    }

    [Fact]
    public void ImpossibleOptionsAreRefusedWithTheLimitersName()
    {
        var ex = Assert.Throws<ArgumentException>(() => Limiter(0, 60));

        Assert.Contains("test: the permit limit must be at least 1", ex.Message);
        Assert.Throws<ArgumentException>(() => Limiter(1, 0));
    }
}
