using ChatStats.Testing;
using ChatStats.Throttling.Concurrency;

namespace ChatStats.Throttling.Tests.Concurrency;

public sealed class WorkGateTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task AGateLetsCapacityInQueuesALimitedLineAndTimesOutTheWait()
    {
        var gate = new WorkGate("pdf", new WorkGateOptions { Capacity = 2, QueueLimit = 1, WaitTimeout = TimeSpan.FromSeconds(60) }, _time);
        var a = await gate.EnterAsync();
        using var b = await gate.EnterAsync();
        var waiting = gate.EnterAsync().AsTask();

        var full = await Assert.ThrowsAsync<OverloadException>(() => gate.EnterAsync().AsTask());
        _time.Advance(TimeSpan.FromSeconds(60));
        var timedOut = await Assert.ThrowsAsync<OverloadException>(() => waiting);

        Assert.Equal(OverloadReason.GlobalQueueFull, full.Reason);
        Assert.Equal(OverloadReason.QueueTimeout, timedOut.Reason);
        Assert.Equal((2, 0, 2), gate.Load);
        a.Dispose();
    }

    [Fact]
    public async Task HalvingAGateTakesEffectForNewEntriesAndRestoringServesTheLine()
    {
        var gate = new WorkGate("ai", new WorkGateOptions { Capacity = 8, QueueLimit = 10 }, _time);
        gate.Scale(0.5);
        var held = new List<IDisposable>();
        for (var i = 0; i < 4; i++)
        {
            held.Add(await gate.EnterAsync());
        }
        var fifth = gate.EnterAsync().AsTask();
        Assert.False(fifth.IsCompleted);

        gate.Scale(1);

        Assert.True(fifth.IsCompletedSuccessfully);
        Assert.Equal(8, gate.Capacity);
        (await fifth).Dispose();
        held.ForEach(h => h.Dispose());
    }
}
