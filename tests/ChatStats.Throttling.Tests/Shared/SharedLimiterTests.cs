using System.Threading.RateLimiting;
using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;
using ChatStats.Throttling.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatStats.Throttling.Tests.Shared;

/// <summary>
/// The shared limiters against a real redis-server, two "processes" (two stores, two limiters) at a time: together they
/// allow what one limit allows; while Redis is away each holds its share; when it is back they count there again.
/// </summary>
public sealed class SharedLimiterTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly string _prefix = $"test-{Guid.NewGuid():N}:";
    private readonly List<SharedStore> _stores = [];
    private readonly LogLines _log = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    private async Task<SharedStore> StoreAsync(string? configuration = null)
    {
        var store = await SharedStore.ConnectAsync(new SharedStoreOptions
        {
            Configuration = configuration ?? await RedisServer.SharedConfigurationAsync(),
            KeyPrefix = _prefix,
        }, _time, _log.CreateLogger("store"));
        _stores.Add(store);
        return store;
    }

    private static SlidingWindowOptions Window(int limit, double seconds) => new() { PermitLimit = limit, Window = TimeSpan.FromSeconds(seconds) };

    [Fact]
    public async Task TwoProcessesTogetherAllowWhatOneLimitAllows()
    {
        var (a, b) = (await StoreAsync(), await StoreAsync());
        using var first = new SharedWindowLimiter<long>("commands", Window(5, 60), WindowStamp.Granted, a, () => 2);
        using var second = new SharedWindowLimiter<long>("commands", Window(5, 60), WindowStamp.Granted, b, () => 2);

        var allowed = 0;
        RateDecision last = default;
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            last = await (i % 2 == 0 ? first : second).TryAcquireAsync(42);
            allowed += last.Allowed ? 1 : 0;
        }
        // Another person is counted apart.
        var other = await second.TryAcquireAsync(7);

        Assert.Equal(5, allowed);
        Assert.False(last.Allowed);
        // The first permit was taken at +1 s and the last ask was at +20 s: 41 s until it leaves the window.
        Assert.Equal(TimeSpan.FromSeconds(41), last.RetryAfter);
        Assert.True(other.Allowed);
        _time.Advance(TimeSpan.FromSeconds(41));
        Assert.True((await first.TryAcquireAsync(42)).Allowed);
    }

    [Fact]
    public async Task PermitsReturnedLateCountFromWhenTheyCameBack()
    {
        var (a, b) = (await StoreAsync(), await StoreAsync());
        using var mine = new SharedWindowLimiter<long>("send_global", Window(2, 1), WindowStamp.Returned, a, () => 2);
        using var theirs = new SharedWindowLimiter<long>("send_global", Window(2, 1), WindowStamp.Returned, b, () => 2);

        var one = await mine.AttemptAcquireAsync(0);
        var two = await theirs.AttemptAcquireAsync(0);
        Assert.True(one.IsAcquired && two.IsAcquired);
        // Both still on their way: the answer depends on them coming back, so the caller looks again shortly.
        var refused = await mine.AttemptAcquireAsync(0);
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var poll) && poll <= TimeSpan.FromMilliseconds(100));

        _time.Advance(TimeSpan.FromSeconds(5));
        one.Dispose();
        two.Dispose();
        // Telegram may have counted them just now: a whole window from here.
        var stillFull = await theirs.AttemptAcquireAsync(0);
        Assert.False(stillFull.IsAcquired);
        Assert.True(stillFull.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait == TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var three = await mine.AcquireAsync(0, 2, patience.Token);
        Assert.True(three.IsAcquired);
    }

    [Fact]
    public async Task APermitThatCameBackWithinAMillisecondCountsUntilAWholeWindowAfterIt()
    {
        var store = await StoreAsync();
        using var limiter = new SharedWindowLimiter<long>("send_chat", Window(1, 1), WindowStamp.Returned, store, () => 1);
        // On a whole millisecond, as a fresh clock is: the request leaves at t, returns at t + 0.4 ms.
        Assert.Equal(0, _time.GetUtcNow().Ticks % TimeSpan.TicksPerMillisecond);
        var sent = await limiter.AttemptAcquireAsync(5);
        Assert.True(sent.IsAcquired);
        // The answer comes back 0.4 ms later: the API may have counted the request at any moment until then.
        _time.Advance(TimeSpan.FromTicks(4_000));
        sent.Dispose();

        // A second after the request left, but not yet a second after the API may have counted it.
        _time.Advance(TimeSpan.FromTicks(9_996_000));
        Assert.False((await limiter.AttemptAcquireAsync(5)).IsAcquired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await limiter.AttemptAcquireAsync(5)).IsAcquired);
    }

    [Fact]
    public async Task APermitOfAProcessThatDiedMidRequestExpiresAfterTheInFlightCeiling()
    {
        var store = await StoreAsync();
        using var limiter = new SharedWindowLimiter<long>("send_chat", Window(1, 1), WindowStamp.Returned, store, () => 1, inFlightCeiling: TimeSpan.FromSeconds(10));
        _ = await limiter.AttemptAcquireAsync(5); // never disposed: its process died
        _time.Advance(TimeSpan.FromSeconds(10.5));
        Assert.False((await limiter.AttemptAcquireAsync(5)).IsAcquired);
        _time.Advance(TimeSpan.FromSeconds(0.6));
        Assert.True((await limiter.AttemptAcquireAsync(5)).IsAcquired);
    }

    [Fact]
    public async Task TokenBucketsAreSharedAndATierChangeStartsFull()
    {
        var (a, b) = (await StoreAsync(), await StoreAsync());
        var policy = TokenBucketPolicy.PerSecondMinuteHour("free", perSecond: 1, perMinute: 3, perHour: 100, burst: 2);
        var pro = TokenBucketPolicy.PerSecondMinuteHour("pro", perSecond: 5, perMinute: 100, perHour: 1000, burst: 5);
        var tier = policy;
        using var first = new SharedTokenBucket<long>("tier", _ => tier, a, () => 2);
        using var second = new SharedTokenBucket<long>("tier", _ => tier, b, () => 2);

        Assert.True((await first.TryAcquireAsync(-100)).Allowed);
        Assert.True((await second.TryAcquireAsync(-100)).Allowed);
        var burstSpent = await first.TryAcquireAsync(-100);
        Assert.False(burstSpent.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), burstSpent.RetryAfter);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await second.TryAcquireAsync(-100)).Allowed);
        _time.Advance(TimeSpan.FromSeconds(5));
        // Three a minute: the fourth waits for the minute's bucket, whatever the second's says.
        var minute = await first.TryAcquireAsync(-100);
        Assert.False(minute.Allowed);
        Assert.InRange(minute.RetryAfter.TotalSeconds, 13, 15);

        tier = pro;
        Assert.True((await first.TryAcquireAsync(-100)).Allowed);
    }

    [Fact]
    public async Task WhileRedisIsAwayEachProcessHoldsItsShareAndWhenItIsBackTheyShareAgain()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var (a, b) = (await StoreAsync(redis.Configuration), await StoreAsync(redis.Configuration));
        var changes = new List<bool>();
        a.AvailabilityChanged += changes.Add;
        using var first = new SharedWindowLimiter<long>("commands", Window(10, 60), WindowStamp.Granted, a, () => 2);
        using var second = new SharedWindowLimiter<long>("commands", Window(10, 60), WindowStamp.Granted, b, () => 2);
        Assert.True(a.IsAvailable && b.IsAvailable);

        redis.Kill();
        var allowed = 0;
        for (var i = 0; i < 30; i++)
        {
            allowed += (await (i % 2 == 0 ? first : second).TryAcquireAsync(1)).Allowed ? 1 : 0;
        }
        // Each holds half of ten: together they still allow ten, and nothing waited on the dead server.
        Assert.Equal(10, allowed);
        Assert.False(a.IsAvailable);
        Assert.False(b.IsAvailable);
        Assert.Equal(5, first.LocalLimit);

        await redis.StartAsync();
        await WaitUntilAsync(() => a.IsAvailable && b.IsAvailable);
        Assert.Equal([false, true], changes);
        // Counted in Redis again (the restarted one is empty): the whole limit, for both together.
        allowed = 0;
        for (var i = 0; i < 30; i++)
        {
            allowed += (await (i % 2 == 0 ? first : second).TryAcquireAsync(1)).Allowed ? 1 : 0;
        }
        Assert.Equal(10, allowed);
    }

    [Fact]
    public async Task AStoreStartedWhileRedisIsDownCountsLocallyAndJoinsWhenRedisAnswers()
    {
        var port = Tools.FreePort();
        var store = await StoreAsync($"127.0.0.1:{port}");
        Assert.False(store.IsAvailable);
        using var limiter = new SharedTokenBucket<long>("tier", _ => TokenBucketPolicy.PerSecondMinuteHour("free", 1, 60, 600, 4), store, () => 2);
        Assert.True((await limiter.TryAcquireAsync(1)).Allowed);
        Assert.True((await limiter.TryAcquireAsync(1)).Allowed);
        Assert.False((await limiter.TryAcquireAsync(1)).Allowed); // half of a burst of four
    }

    /// <summary>Waits for a real Redis reconnection, moving the store's probe clock a second at a time meanwhile.</summary>
    private Task WaitUntilAsync(Func<bool> condition) =>
        Eventually.TrueAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            return condition();
        }, "Redis used again after it came back", TimeSpan.FromSeconds(30), every: TimeSpan.FromMilliseconds(100));
}
