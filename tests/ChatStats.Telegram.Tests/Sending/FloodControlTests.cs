using ChatStats.Telegram.Sending;
using ChatStats.Testing;
using ChatStats.Throttling.RateLimits;
using Microsoft.Extensions.Logging.Abstractions;
using Telegram.Bot;

namespace ChatStats.Telegram.Tests.Sending;

/// <summary>Telegram's limits on the sending side, on a manual clock shared with the fake Bot API.</summary>
public sealed class FloodControlTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private FakeBotApi _api = null!;
    private ITelegramBotClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeBotApi.StartAsync(_time);
        _client = _api.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
    }

    private TokenBucketLimiter<long> Bucket(int limit, TimeSpan period, int burst)
    {
        var policy = new TokenBucketPolicy("p", [new BucketRate(limit, period, burst)]);
        return new("send", _ => policy, _time);
    }

    private MessageSender Sender(TokenBucketLimiter<long>? perChat = null, TokenBucketLimiter<long>? global = null, TimeSpan? maxReplyAge = null) =>
        new(_client, new MessageSenderOptions
        {
            PerChat = perChat,
            Global = global,
            MaxReplyAge = maxReplyAge ?? TimeSpan.FromSeconds(120),
        }, _time, NullLogger<MessageSender>.Instance);

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"gave up waiting for {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Moves the clock a second at a time until <paramref name="done"/> completes.</summary>
    private async Task RunClockUntil(Task done, int maxSeconds = 600)
    {
        for (var i = 0; i < maxSeconds && !done.IsCompleted; i++)
        {
            await Task.Delay(20);
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        await done;
    }

    [Fact]
    public async Task AChatGetsItsBurstThenAboutOneMessageASecond()
    {
        var sender = Sender(perChat: Bucket(1, TimeSpan.FromSeconds(1), 3));
        var start = _time.GetUtcNow();

        var sends = Enumerable.Range(0, 8).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -42, Text = $"m{i}" }, CancellationToken.None)).ToList();
        // The burst goes before the clock moves at all (waiting here, not racing the clock, keeps arrival stamps exact).
        await Until(() => _api.Sent.Count == 3 && sender.Waiting == 5, "the burst of three, the other five waiting for tokens");
        Assert.Equal(3, _api.Sent.Count);
        await RunClockUntil(Task.WhenAll(sends));

        var times = _api.Sent.Select(s => (s.At - start).TotalSeconds).Order().ToList();
        Assert.Equal(8, times.Count);
        Assert.Equal([0, 0, 0], times.Take(3));
        for (var k = 3; k < 8; k++)
        {
            Assert.True(times[k] >= k - 2, $"message {k} went at {times[k]} s, before its token");
        }
    }

    [Fact]
    public async Task AFloodWaitHoldsEverySendToThatChatAndNoOther()
    {
        var sender = Sender();
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 10", retryAfter: 10);
        var start = _time.GetUtcNow();

        var first = sender.SendTextAsync(new OutgoingMessage { ChatId = -7, Text = "first" }, CancellationToken.None);
        await Until(() => _time.PendingTimers > 0, "the first send to be held by its flood wait");
        var second = sender.SendTextAsync(new OutgoingMessage { ChatId = -7, Text = "second" }, CancellationToken.None);
        var elsewhere = sender.SendTextAsync(new OutgoingMessage { ChatId = -8, Text = "elsewhere" }, CancellationToken.None);
        await elsewhere;
        await RunClockUntil(Task.WhenAll(first, second));

        Assert.Equal(0, _api.SendsInsideRetryWindow);
        Assert.All(_api.Sent.Where(s => s.ChatId == -7), s => Assert.True(s.At - start >= TimeSpan.FromSeconds(10)));
        Assert.Equal(start, _api.Sent.Single(s => s.ChatId == -8).At);
    }

    [Fact]
    public async Task ARepliesThatWaitedTooLongAreDroppedNotSentStale()
    {
        var sender = Sender(perChat: Bucket(1, TimeSpan.FromSeconds(60), 1));

        var replies = Enumerable.Range(0, 4).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -9, Text = $"r{i}" }, CancellationToken.None)).ToList();
        await RunClockUntil(Task.WhenAll(replies));

        var counts = replies.Select(r => r.Result.Count).ToList();
        Assert.Equal([1, 1, 1, 0], counts.Order().Reverse());
        Assert.Equal(3, _api.Sent.Count);
    }

    [Fact]
    public async Task RepliesGoBeforeBulkSends()
    {
        var sender = Sender(global: Bucket(1, TimeSpan.FromSeconds(1), 1));
        var bulk = Enumerable.Range(0, 3).Select(i =>
            sender.SendTextAsync(new OutgoingMessage { ChatId = 100 + i, Text = $"digest {i}", Priority = SendPriority.Bulk }, CancellationToken.None)).ToList();
        await Until(() => _api.Sent.Count == 1 && sender.Waiting == 2, "one digest out, two waiting for the next token");

        var reply = sender.SendTextAsync(new OutgoingMessage { ChatId = 200, Text = "answer" }, CancellationToken.None);
        await RunClockUntil(Task.WhenAll([.. bulk, reply]));

        var order = _api.Sent.OrderBy(s => s.At).Select(s => s.Text).ToList();
        Assert.True(order.IndexOf("answer") <= 1, $"the reply should overtake the waiting digests: {string.Join(", ", order)}");
    }

    [Fact]
    public async Task AGroupNeverGetsMoreThanTwentyInAnyMinute()
    {
        var sender = new MessageSender(_client, new MessageSenderOptions
        {
            PerGroup = new SlidingWindowLimiter<long>("group", new SlidingWindowOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1) }, _time),
            MaxReplyAge = TimeSpan.FromMinutes(10),
        }, _time, NullLogger<MessageSender>.Instance);
        var start = _time.GetUtcNow();

        var sends = Enumerable.Range(0, 50).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -77, Text = $"m{i}" }, CancellationToken.None)).ToList();
        await RunClockUntil(Task.WhenAll(sends));

        var times = _api.Sent.Select(s => s.At).Order().ToList();
        Assert.Equal(50, times.Count);
        // The fake stamps arrival, which can trail the permit by one tick of this test's clock (a second): any 59 s
        // of arrivals therefore holds permits from at most one minute.
        Assert.All(times, t => Assert.True(times.Count(u => u >= t && u < t + TimeSpan.FromSeconds(59)) <= 20));
        Assert.True(times[^1] - start >= TimeSpan.FromMinutes(2));
    }
}
