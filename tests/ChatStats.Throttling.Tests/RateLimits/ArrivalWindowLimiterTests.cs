using System.Threading.RateLimiting;
using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Throttling.Tests.RateLimits;

public sealed class ArrivalWindowLimiterTests
{
    private readonly ManualTimeProvider _time = new();

    private ArrivalWindowLimiter<long> Limiter(int limit, int seconds) =>
        new("test", new SlidingWindowOptions { PermitLimit = limit, Window = TimeSpan.FromSeconds(seconds) }, _time);

    [Fact]
    public void APermitCountsWhileInFlightAndItsWindowStartsWhenItIsGivenBack()
    {
        using var limiter = Limiter(2, 60);
        var first = limiter.AttemptAcquire(1);
        var second = limiter.AttemptAcquire(1);
        Assert.True(first.IsAcquired && second.IsAcquired);

        // Both on their way: nothing to wait out yet, the next depends on them coming back.
        Assert.Null(limiter.TryAcquire(1, 1, out var unknown));
        Assert.Null(unknown);

        _time.Advance(TimeSpan.FromSeconds(5));
        first.Dispose();
        // The far end may have stamped it just now: a full window from here.
        Assert.Null(limiter.TryAcquire(1, 1, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(60), retryAfter);

        _time.Advance(TimeSpan.FromSeconds(60));
        using var third = limiter.AttemptAcquire(1);
        Assert.True(third.IsAcquired);
        second.Dispose();
        Assert.False(limiter.AttemptAcquire(1).IsAcquired);
    }

    [Fact]
    public void APermitCanCostSeveralUnitsButNeverMoreThanTheLimit()
    {
        using var limiter = Limiter(4, 10);
        using (var double1 = limiter.AttemptAcquire(1, 2))
        using (var double2 = limiter.AttemptAcquire(1, 2))
        {
            Assert.True(double1.IsAcquired && double2.IsAcquired);
            Assert.False(limiter.AttemptAcquire(1, 1).IsAcquired);
        }
        _time.Advance(TimeSpan.FromSeconds(10));
        // Asking for more than the limit asks for all of it.
        using var all = limiter.AttemptAcquire(1, 100);
        Assert.True(all.IsAcquired);
        Assert.Equal(0, limiter.GetStatistics(1)!.CurrentAvailablePermits);
    }

    [Fact]
    public async Task AWaiterBlockedByPermitsInFlightGoesAsSoonAsOneComesBackAndItsWindowAllows()
    {
        using var limiter = Limiter(1, 1);
        var held = limiter.AttemptAcquire(7);
        var parked = _time.PendingTimers;
        var waiting = limiter.AcquireAsync(7).AsTask();
        // The waiter parks before AcquireAsync returns (on the return of the permit in flight, with a step timer beside
        // it); only a return or the clock can move it, and neither has happened.
        Assert.False(waiting.IsCompleted);
        Assert.Equal(parked + 1, _time.PendingTimers);
        Assert.Equal(1, limiter.Parked.Count);
        Assert.True(limiter.Parked.AllParked);

        held.Dispose();
        // Woken, it is not parked from that moment until it parks again (a test moving the clock must not move it in
        // between); by the time it is seen parked, its new timers are set.
        var parkedRightAfter = limiter.Parked.AllParked;
        Assert.True(!parkedRightAfter || _time.PendingTimers >= parked + 2, "the woken waiter counted as parked before it waited again");
        // Back, but it landed just now: the woken waiter must park again, on the window's end (and a new step timer), and
        // not go. Seen when its timers are set, or when it went anyway.
        await Eventually.TrueAsync(() => waiting.IsCompleted || _time.PendingTimers == parked + 2,
            () => $"the waiter to wait for the window (timers {_time.PendingTimers}, {parked} before it waited)");
        Assert.False(waiting.IsCompleted);
        await Eventually.TrueAsync(() => limiter.Parked.AllParked, "the waiter to count as parked again");
        _time.Advance(TimeSpan.FromSeconds(1));
        using var lease = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(lease.IsAcquired);
        Assert.Equal(0, limiter.Parked.Count);
    }

    [Fact]
    public void KeysWithNothingInFlightOrInTheWindowAreSwept()
    {
        using var limiter = Limiter(3, 5);
        limiter.AttemptAcquire(1).Dispose();
        var inFlight = limiter.AttemptAcquire(2);
        _time.Advance(TimeSpan.FromSeconds(10));

        // The periodic sweep has run on the way; only the key with a permit on its way is left.
        limiter.Sweep();
        Assert.Equal(1, limiter.Count);
        inFlight.Dispose();
    }
}
