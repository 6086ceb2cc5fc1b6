using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;

namespace ChatStats.Throttling.Tests.RateLimits;

public sealed class NoticeThrottleTests
{
    [Fact]
    public async Task OneNoticePerUserPerWindow()
    {
        var time = new ManualTimeProvider();
        using var notices = new NoticeThrottle<long>("notices", TimeSpan.FromSeconds(60), time);

        var first = await notices.ShouldNotifyAsync(1);
        var spam = 0;
        for (var i = 0; i < 50; i++)
        {
            spam += await notices.ShouldNotifyAsync(1) ? 1 : 0;
        }
        var other = await notices.ShouldNotifyAsync(2);
        time.Advance(TimeSpan.FromSeconds(60));
        var later = await notices.ShouldNotifyAsync(1);

        Assert.Equal((true, 0, true, true), (first, spam, other, later));
    }
}
