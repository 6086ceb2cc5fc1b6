using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Throttling.Tests.RateLimits;

public sealed class RefusalTallyTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void TheMostRefusedComeFirstOverTheLastTwoWindowsAndOlderRefusalsAreForgotten()
    {
        var tally = new RefusalTally<long>(TimeSpan.FromMinutes(10), maxKeys: 100, _time);
        for (var i = 0; i < 5; i++)
        {
            tally.Add(7);
        }
        tally.Add(8);
        _time.Advance(TimeSpan.FromMinutes(11));
        tally.Add(8);
        tally.Add(8);

        Assert.Equal([new(7, 5), new(8, 3)], tally.Top(5));
        Assert.Equal([new(7, 5)], tally.Top(1));

        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal([new(8, 2)], tally.Top(5));
        _time.Advance(TimeSpan.FromMinutes(25));
        Assert.Empty(tally.Top(5));
    }

    [Fact]
    public void AFloodOfDistinctKeysStopsAtTheBoundButKnownKeysStillCount()
    {
        var tally = new RefusalTally<long>(TimeSpan.FromMinutes(10), maxKeys: 3, _time);
        for (var key = 1; key <= 1000; key++)
        {
            tally.Add(key);
        }
        tally.Add(2);

        var top = tally.Top(10);
        Assert.Equal(3, top.Count);
        Assert.Equal(new KeyValuePair<long, int>(2, 2), top[0]);
    }
}
