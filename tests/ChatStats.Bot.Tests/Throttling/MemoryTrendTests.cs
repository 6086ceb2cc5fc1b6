using ChatStats.Bot.Throttling;
using ChatStats.Testing;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;

namespace ChatStats.Bot.Tests.Throttling;

public sealed class MemoryTrendTests
{
    private readonly ManualTimeProvider _time = new();

    private MemoryTrend Trend(Func<long> read) =>
        new(_time, new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>(), read);

    [Fact]
    public void ASteadyClimbIsMeasuredAndAGcSawtoothIsNot()
    {
        long rss = 300_000_000;
        var climbing = Trend(() => rss);
        var sawing = 0;
        var sawtooth = Trend(() => ++sawing % 2 == 0 ? 400_000_000 : 300_000_000);

        Assert.Null(climbing.BytesPerHour);
        for (var i = 0; i < 240; i++)
        {
            climbing.Sample();
            sawtooth.Sample();
            rss += 1_000_000;
            _time.Advance(MemoryTrend.Interval);
        }

        // 1 MB every 30 s is 120 MB an hour; the readings older than the hour are forgotten.
        Assert.InRange(climbing.BytesPerHour!.Value, 119_000_000, 121_000_000);
        Assert.InRange(sawtooth.BytesPerHour!.Value, -3_000_000, 3_000_000);
    }
}
