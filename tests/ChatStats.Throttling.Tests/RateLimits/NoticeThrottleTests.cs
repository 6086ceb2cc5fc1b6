using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Throttling.Tests.RateLimits;

public sealed class NoticeThrottleTests
{
    [Fact]
    public void OneNoticePerUserPerWindow()
    {
        var time = new ManualTimeProvider();
        using var notices = new NoticeThrottle<long>("notices", TimeSpan.FromSeconds(60), time);

        var first = notices.ShouldNotify(1);
        var spam = Enumerable.Range(0, 50).Count(_ => notices.ShouldNotify(1));
        var other = notices.ShouldNotify(2);
        time.Advance(TimeSpan.FromSeconds(60));
        var later = notices.ShouldNotify(1);

        Assert.Equal((true, 0, true, true), (first, spam, other, later));
    }
}
