using ChatStats.Throttling.Concurrency;

namespace ChatStats.Throttling.Tests.Concurrency;

public sealed class ParkedWaitsTests
{
    private static TaskCompletionSource Wait() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public void AFlowIsParkedOnlyWhileTheLastWaitItWasToldOfIsUnfinished()
    {
        var waits = new ParkedWaits();
        Assert.True(waits.AllParked);

        using var flow = waits.Begin();
        Assert.False(waits.AllParked); // begun, not yet waiting: working

        var first = Wait();
        flow.On(first.Task);
        Assert.True(waits.AllParked);

        // Finished, and its continuation (asynchronous here) has not run: already not parked.
        first.SetResult();
        Assert.False(waits.AllParked);

        var second = Wait();
        flow.On(second.Task);
        Assert.True(waits.AllParked);
        second.SetResult();
    }

    [Fact]
    public void AWaitMadeOfTwoIsOverWhenEitherPartIs()
    {
        var waits = new ParkedWaits();
        using var flow = waits.Begin();
        var inner = Wait();
        var wrapper = Wait();
        flow.On(wrapper.Task, alsoOn: inner.Task);
        Assert.True(waits.AllParked);

        // What is awaited inside finished; the wrapper around it has not caught up yet.
        inner.SetResult();
        Assert.False(waits.AllParked);
        wrapper.SetResult();
    }

    [Fact]
    public void EveryFlowMustBeParkedAndAFinishedOneNoLongerCounts()
    {
        var waits = new ParkedWaits();
        var parked = waits.Begin();
        var working = waits.Begin();
        var never = Wait();
        parked.On(never.Task);
        Assert.Equal(2, waits.Count);
        Assert.False(waits.AllParked);

        working.Dispose();
        Assert.Equal(1, waits.Count);
        Assert.True(waits.AllParked);

        parked.Dispose();
        Assert.Equal(0, waits.Count);
        Assert.True(waits.AllParked);
    }
}
