using ChatStats.Testing;
using ChatStats.Throttling.Concurrency;

namespace ChatStats.Throttling.Tests.Concurrency;

public sealed class ResourceLimiterTests
{
    private readonly ManualTimeProvider _time = new();

    private ResourceLimiter<long> Limiter(OverloadPolicy policy = OverloadPolicy.DropNewest, int perUser = 3, int userQueue = 10, int global = 100, int globalQueue = 500) =>
        new("test", new ResourceLimiterOptions
        {
            MaxConcurrentPerUser = perUser,
            MaxQueuePerUser = userQueue,
            MaxConcurrentGlobal = global,
            MaxQueueGlobal = globalQueue,
            Policy = policy,
        }, _time);

    [Fact]
    public async Task AUserGetsThreeAtOnceTenInLineAndTheFourteenthIsRefused()
    {
        var limiter = Limiter();
        var held = new List<ResourceLimiter<long>.Lease>();
        for (var i = 0; i < 3; i++)
        {
            held.Add(await limiter.AcquireAsync(1));
        }
        var queued = Enumerable.Range(0, 10).Select(_ => limiter.AcquireAsync(1).AsTask()).ToList();

        var ex = await Assert.ThrowsAsync<OverloadException>(() => limiter.AcquireAsync(1).AsTask());

        Assert.Equal("User queue full (10/10). Too many concurrent requests.", ex.Message);
        Assert.Equal((OverloadReason.UserQueueFull, 5), (ex.Reason, ex.RetryAfterSeconds));
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        var other = await limiter.AcquireAsync(2);
        Assert.Equal((4, 10), (limiter.GetStats().GlobalConcurrent, limiter.GetStats().GlobalQueued));
        held[0].Dispose();
        var next = await queued[0];
        Assert.False(queued[1].IsCompleted);
        next.Dispose();
        other.Dispose();
    }

    [Fact]
    public async Task TheGlobalLimitQueuesEveryoneAndServesTheOldestEligibleFirst()
    {
        var limiter = Limiter(global: 2, globalQueue: 3);
        var a = await limiter.AcquireAsync(1);
        var b = await limiter.AcquireAsync(2);
        var c = limiter.AcquireAsync(3).AsTask();
        var d = limiter.AcquireAsync(4).AsTask();
        var e = limiter.AcquireAsync(5).AsTask();

        var full = await Assert.ThrowsAsync<OverloadException>(() => limiter.AcquireAsync(6).AsTask());
        a.Dispose();

        Assert.Equal(OverloadReason.GlobalQueueFull, full.Reason);
        Assert.Contains("Server queue full (3/3)", full.Message);
        Assert.True(c.IsCompletedSuccessfully);
        Assert.False(d.IsCompleted);
        (await c).Dispose();
        (await d).Dispose();
        (await e).Dispose();
        b.Dispose();
        Assert.Equal((0, 0, 0), (limiter.GetStats().GlobalConcurrent, limiter.GetStats().GlobalQueued, limiter.GetStats().TotalUsers));
    }

    [Fact]
    public async Task DropNewestRefusesTheNewcomerAndKeepsTheLine()
    {
        var limiter = Limiter(OverloadPolicy.DropNewest, perUser: 1, userQueue: 1);
        using var held = await limiter.AcquireAsync(1);
        var waiting = limiter.AcquireAsync(1).AsTask();

        await Assert.ThrowsAsync<OverloadException>(() => limiter.AcquireAsync(1).AsTask());

        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, limiter.GetStats().GlobalQueued);
    }

    [Fact]
    public async Task DropOldestRefusesWhoeverWaitedLongestAndQueuesTheNewcomer()
    {
        var limiter = Limiter(OverloadPolicy.DropOldest, perUser: 1, userQueue: 2);
        var held = await limiter.AcquireAsync(1);
        var oldest = limiter.AcquireAsync(1).AsTask();
        var middle = limiter.AcquireAsync(1).AsTask();

        var newest = limiter.AcquireAsync(1).AsTask();

        var dropped = await Assert.ThrowsAsync<OverloadException>(() => oldest);
        Assert.Equal(OverloadReason.DroppedForNewer, dropped.Reason);
        Assert.Equal(2, limiter.GetStats().GlobalQueued);
        held.Dispose();
        (await middle).Dispose();
        (await newest).Dispose();
    }

    [Fact]
    public async Task BlockQueuesPastTheLimitUntilTheQueueTimeout()
    {
        var limiter = Limiter(OverloadPolicy.Block, perUser: 1, userQueue: 1);
        var held = await limiter.AcquireAsync(1);
        var waiters = Enumerable.Range(0, 5).Select(_ => limiter.AcquireAsync(1).AsTask()).ToList();

        Assert.Equal(5, limiter.GetStats().GlobalQueued);
        held.Dispose();
        (await waiters[0]).Dispose();
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(waiters[1].IsCompletedSuccessfully);
        foreach (var late in waiters.Skip(2))
        {
            Assert.Equal(OverloadReason.QueueTimeout, (await Assert.ThrowsAsync<OverloadException>(() => late)).Reason);
        }
        (await waiters[1]).Dispose();
        Assert.Equal((0, 0), (limiter.GetStats().GlobalConcurrent, limiter.GetStats().GlobalQueued));
    }

    [Fact]
    public async Task AQueuedRequestTimesOutAfterThirtySecondsAndGivesItsPlaceBack()
    {
        var limiter = Limiter(perUser: 1, userQueue: 1);
        using var held = await limiter.AcquireAsync(1);
        var waiting = limiter.AcquireAsync(1).AsTask();
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(waiting.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<OverloadException>(() => waiting);
        Assert.Contains("Waited 30 s in the queue", ex.Message);
        Assert.Equal(0, limiter.GetStats().GlobalQueued);
        var again = limiter.AcquireAsync(1).AsTask();
        Assert.False(again.IsCompleted);
    }

    [Fact]
    public async Task ACancelledWaiterLeavesTheLineAndTheNextOneIsServed()
    {
        var limiter = Limiter(perUser: 1);
        var held = await limiter.AcquireAsync(1);
        using var cts = new CancellationTokenSource();
        var cancelled = limiter.AcquireAsync(1, cts.Token).AsTask();
        var next = limiter.AcquireAsync(1).AsTask();

        await cts.CancelAsync();
        held.Dispose();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        (await next).Dispose();
        Assert.Equal(0, limiter.GetStats().TotalUsers);
    }

    [Fact]
    public async Task StatsShowGlobalAndPerUserLoadAndTheConfiguration()
    {
        var limiter = Limiter(perUser: 1);
        using var a = await limiter.AcquireAsync(42);
        var queued = limiter.AcquireAsync(42).AsTask();

        var stats = limiter.GetStats();

        Assert.Equal((1, 1, 1), (stats.GlobalConcurrent, stats.GlobalQueued, stats.TotalUsers));
        Assert.Equal(new UserLoad("42", 1, 1), Assert.Single(stats.Users));
        Assert.Equal(500, stats.Config.MaxQueueGlobal);
        a.Dispose();
        (await queued).Dispose();
    }

    [Fact]
    public async Task DisposingALeaseTwiceFreesOneSlot()
    {
        var limiter = Limiter(perUser: 2);
        var a = await limiter.AcquireAsync(1);
        using var b = await limiter.AcquireAsync(1);

        a.Dispose();
        a.Dispose();

        Assert.Equal(1, limiter.GetStats().GlobalConcurrent);
    }

    [Fact]
    public async Task ACancellationRacingTheReleaseThatWouldServeItNeverDeadlocks()
    {
        // The release serves the waiter (taking it out of line under the lock) while its token's callback, already
        // running on another thread, waits for that lock: disposing the registration there waited for the callback.
        var limiter = Limiter(perUser: 1, global: 1);
        for (var i = 0; i < 2_000; i++)
        {
            var held = await limiter.AcquireAsync(1);
            using var cts = new CancellationTokenSource();
            var waiting = limiter.AcquireAsync(2, cts.Token).AsTask();
            using var start = new Barrier(2);
            var cancel = Task.Run(() =>
            {
                start.SignalAndWait();
                cts.Cancel();
            });
            var release = Task.Run(() =>
            {
                start.SignalAndWait();
                held.Dispose();
            });
            await Task.WhenAll(cancel, release).WaitAsync(TimeSpan.FromSeconds(30));
            try
            {
                (await waiting.WaitAsync(TimeSpan.FromSeconds(30))).Dispose();
            }
            catch (OperationCanceledException)
            {
            }
        }

        Assert.Equal((0, 0, 0), (limiter.GetStats().GlobalConcurrent, limiter.GetStats().GlobalQueued, limiter.GetStats().TotalUsers));
    }

    [Fact]
    public async Task AfterAnyMixOfOutcomesEveryPermitAndQueuePlaceIsReturned()
    {
        var limiter = Limiter(OverloadPolicy.DropOldest, perUser: 2, userQueue: 3, global: 8, globalQueue: 20);
        var random = new Random(1234);
        var outcomes = new int[5];
        var running = new List<Task>();

        for (var i = 0; i < 5_000; i++)
        {
            var user = random.Next(12);
            var roll = random.Next(100);
            using var cts = new CancellationTokenSource();
            if (roll < 10)
            {
                cts.Cancel();
            }
            var hold = random.Next(0, 45);
            var fail = roll is >= 90 and < 95;
            running.Add(Run(user, roll is >= 10 and < 25 ? CancelSoon(cts) : cts.Token, hold, fail));
            if (i % 25 == 0)
            {
                _time.Advance(TimeSpan.FromSeconds(random.Next(0, 20)));
            }
            await Task.Yield();
        }
        // Let everything still queued time out, and everything held finish.
        for (var i = 0; i < 200 && running.Any(t => !t.IsCompleted); i++)
        {
            await QuiescentAsync();
            _time.Advance(TimeSpan.FromSeconds(31));
        }
        await QuiescentAsync();
        var stuck = running.Count(t => !t.IsCompleted);
        Assert.True(stuck == 0, $"{stuck} operations never finished; limiter {limiter.GetStats().GlobalConcurrent} running, {limiter.GetStats().GlobalQueued} queued; {_time.PendingTimers} timers pending");
        await Task.WhenAll(running);

        var stats = limiter.GetStats();
        Assert.Equal((0, 0, 0), (stats.GlobalConcurrent, stats.GlobalQueued, stats.TotalUsers));
        Assert.All(outcomes, count => Assert.True(count > 0, $"every outcome should occur: {string.Join(", ", outcomes)}"));

        // Settled: every unfinished operation is parked on exactly one timer of the manual clock (a hold or a queue
        // timeout), so moving the clock is the only thing that can make progress.
        async Task QuiescentAsync()
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (running.Count(t => !t.IsCompleted) != _time.PendingTimers)
            {
                Assert.True(DateTime.UtcNow < deadline, $"never settled: {running.Count(t => !t.IsCompleted)} unfinished, {_time.PendingTimers} timers");
                await Task.Yield();
            }
        }

        async Task Run(int user, CancellationToken ct, int hold, bool fail)
        {
            try
            {
                using var lease = await limiter.AcquireAsync(user, ct);
                // Held on the fake clock: the slot frees only when the test moves time on.
                await Task.Delay(TimeSpan.FromSeconds(hold), _time);
                if (fail)
                {
                    throw new InvalidOperationException("handler failed");
                }
                Interlocked.Increment(ref outcomes[0]);
            }
            catch (OverloadException ex) when (ex.Reason == OverloadReason.QueueTimeout)
            {
                Interlocked.Increment(ref outcomes[1]);
            }
            catch (OverloadException)
            {
                Interlocked.Increment(ref outcomes[2]);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref outcomes[3]);
            }
            catch (InvalidOperationException)
            {
                Interlocked.Increment(ref outcomes[4]);
            }
        }

        static CancellationToken CancelSoon(CancellationTokenSource cts)
        {
            var later = new CancellationTokenSource();
            // Read before the task can cancel and dispose the source (on a busy machine it ran first and this threw).
            var token = later.Token;
            _ = Task.Run(async () =>
            {
                await Task.Yield();
                await later.CancelAsync();
                later.Dispose();
            });
            return token;
        }
    }
}
