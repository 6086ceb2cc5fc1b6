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
    private readonly List<ArrivalWindowLimiter<long>> _limiters = [];
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

    private ArrivalWindowLimiter<long> Window(int limit, TimeSpan window)
    {
        var limiter = new ArrivalWindowLimiter<long>("send", new SlidingWindowOptions { PermitLimit = limit, Window = window }, _time);
        _limiters.Add(limiter);
        return limiter;
    }

    private MessageSender Sender(ArrivalWindowLimiter<long>? perChat = null, ArrivalWindowLimiter<long>? global = null, TimeSpan? maxReplyAge = null) =>
        Sender(new MessageSenderOptions
        {
            PerChat = perChat,
            Global = global,
            MaxReplyAge = maxReplyAge ?? TimeSpan.FromSeconds(120),
        });

    private MessageSender Sender(MessageSenderOptions options) => new(_client, options, _time, NullLogger<MessageSender>.Instance);

    /// <summary>
    /// Waits until nothing can happen without the clock: every send parked on a timer, a limiter or the send ahead of it on
    /// the wire, and every limiter's waiter parked too (none being decided, none on its way to the fake Telegram).
    /// </summary>
    private Task ParkedAsync(MessageSender sender) =>
        Eventually.TrueAsync(() => sender.Parked.AllParked && _limiters.All(l => l.Parked.AllParked),
            () => $"every send parked on the clock ({sender.Parked.Count} sends in progress, {_api.Sent.Count} arrived)", every: TimeSpan.FromMilliseconds(1));

    /// <summary>Moves the clock a second at a time, each time once every send has gone as far as it can, until <paramref name="done"/> completes.</summary>
    private async Task RunClockUntil(MessageSender sender, Task done, int maxSeconds = 600)
    {
        for (var second = 0; ; second++)
        {
            await ParkedAsync(sender);
            if (done.IsCompleted)
            {
                break;
            }
            Assert.True(second < maxSeconds, $"the sends were still waiting after {maxSeconds} s of clock");
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        await done;
    }

    [Fact]
    public async Task AChatGetsItsBurstThenNoMoreThanItsBurstInAnyWindow()
    {
        var sender = Sender(perChat: Window(3, TimeSpan.FromSeconds(3)));
        var start = _time.GetUtcNow();

        var sends = Enumerable.Range(0, 8).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -42, Text = $"m{i}" }, CancellationToken.None)).ToList();
        // The burst goes before the clock moves at all (waiting here, not racing the clock, keeps arrival stamps exact).
        await Eventually.TrueAsync(() => _api.Sent.Count == 3 && sender.Waiting == 5, "the burst of three, the other five waiting for the window");
        await RunClockUntil(sender, Task.WhenAll(sends));

        var times = _api.Sent.Select(s => s.At).Order().ToList();
        Assert.Equal(8, times.Count);
        Assert.Equal([start, start, start], times.Take(3));
        Assert.All(times, t => Assert.True(times.Count(u => u >= t && u < t + TimeSpan.FromSeconds(3)) <= 3));
    }

    [Fact]
    public async Task AFloodWaitHoldsEverySendToThatChatAndNoOther()
    {
        var sender = Sender();
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 10", retryAfter: 10);
        var start = _time.GetUtcNow();

        var first = sender.SendTextAsync(new OutgoingMessage { ChatId = -7, Text = "first" }, CancellationToken.None);
        await Eventually.TrueAsync(() => _time.PendingTimers > 0, "the first send to be held by its flood wait");
        var second = sender.SendTextAsync(new OutgoingMessage { ChatId = -7, Text = "second" }, CancellationToken.None);
        var elsewhere = sender.SendTextAsync(new OutgoingMessage { ChatId = -8, Text = "elsewhere" }, CancellationToken.None);
        await elsewhere;
        await RunClockUntil(sender, Task.WhenAll(first, second));

        Assert.Equal(0, _api.SendsInsideRetryWindow);
        Assert.All(_api.Sent.Where(s => s.ChatId == -7), s => Assert.True(s.At - start >= TimeSpan.FromSeconds(10)));
        Assert.Equal(start, _api.Sent.Single(s => s.ChatId == -8).At);
    }

    [Fact]
    public async Task ARepliesThatWaitedTooLongAreDroppedNotSentStale()
    {
        // One a minute, each minute counted from when Telegram answered (a little after the permit on this clock, which
        // moves while a send is on its way): replies go at about 0, 60 and 120 s, and the fourth would be 180 s old.
        var sender = Sender(perChat: Window(1, TimeSpan.FromSeconds(60)), maxReplyAge: TimeSpan.FromSeconds(150));

        var replies = Enumerable.Range(0, 4).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -9, Text = $"r{i}" }, CancellationToken.None)).ToList();
        await RunClockUntil(sender, Task.WhenAll(replies));

        var counts = replies.Select(r => r.Result.Count).ToList();
        Assert.Equal([1, 1, 1, 0], counts.Order().Reverse());
        Assert.Equal(3, _api.Sent.Count);
    }

    [Fact]
    public async Task RepliesGoBeforeBulkSends()
    {
        var sender = Sender(global: Window(1, TimeSpan.FromSeconds(1)));
        var bulk = Enumerable.Range(0, 3).Select(i =>
            sender.SendTextAsync(new OutgoingMessage { ChatId = 100 + i, Text = $"digest {i}", Priority = SendPriority.Bulk }, CancellationToken.None)).ToList();
        await Eventually.TrueAsync(() => _api.Sent.Count == 1 && sender.Waiting == 2, "one digest out, two waiting for the next token");

        var reply = sender.SendTextAsync(new OutgoingMessage { ChatId = 200, Text = "answer" }, CancellationToken.None);
        await RunClockUntil(sender, Task.WhenAll([.. bulk, reply]));

        var order = _api.Sent.OrderBy(s => s.At).Select(s => s.Text).ToList();
        // The clock moves only once every send is parked, so the schedule is exact: the reply takes the very next token
        // (which of the waiting digests then goes first is not promised: they wait alike).
        Assert.Equal(4, order.Count);
        Assert.Equal("answer", order[1]);
        Assert.Equal(["digest 0", "digest 1", "digest 2"], order.Where(text => text != "answer").Order());
    }

    [Fact]
    public async Task AGroupNeverGetsMoreThanTwentyInAnyMinute()
    {
        var sender = Sender(new MessageSenderOptions
        {
            PerGroup = Window(20, TimeSpan.FromMinutes(1)),
            MaxReplyAge = TimeSpan.FromMinutes(10),
        });
        var start = _time.GetUtcNow();

        var sends = Enumerable.Range(0, 50).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -77, Text = $"m{i}" }, CancellationToken.None)).ToList();
        await RunClockUntil(sender, Task.WhenAll(sends));

        var times = _api.Sent.Select(s => s.At).Order().ToList();
        Assert.Equal(50, times.Count);
        // Stamped on arrival by the fake: never 21 in a minute, and (the clock moving only once every send is parked)
        // each minute's twenty the moment the window lets them.
        Assert.All(times, t => Assert.True(times.Count(u => u >= t && u < t + TimeSpan.FromMinutes(1)) <= 20));
        Assert.Equal([.. Enumerable.Repeat(0, 20), .. Enumerable.Repeat(60, 20), .. Enumerable.Repeat(120, 10)], times.Select(t => (int)(t - start).TotalSeconds));
    }

    [Fact]
    public async Task A429MakesThatGroupsSendsCostDoubleUntilItHasBeenQuietAWhile()
    {
        var sender = Sender(new MessageSenderOptions
        {
            PerGroup = Window(20, TimeSpan.FromMinutes(1)),
            MaxReplyAge = TimeSpan.FromHours(1),
            RelaxAfter = TimeSpan.FromMinutes(2),
        });
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 1", retryAfter: 1);
        var start = _time.GetUtcNow();

        var sends = Enumerable.Range(0, 30).Select(i => sender.SendTextAsync(new OutgoingMessage { ChatId = -55, Text = $"m{i}" }, CancellationToken.None)).ToList();
        await RunClockUntil(sender, Task.WhenAll(sends));

        var times = _api.Sent.Select(s => s.At - start).Order().ToList();
        Assert.Equal(30, times.Count);
        // Charged double after the 429: ten a minute, not twenty, for the two minutes before it relaxes.
        Assert.InRange(times.Count(t => t < TimeSpan.FromMinutes(1)), 1, 10);
        Assert.InRange(times.Count(t => t < TimeSpan.FromMinutes(2)), 11, 20);
        // Exactly: the refused send spent a unit at 0; from 1 s (its retry_after) two units a send, so nine fit beside it;
        // each unit that leaves the window lets one more go; past two quiet minutes a send costs one again (the last ten).
        Assert.Equal([.. Enumerable.Repeat(1, 9), 60, .. Enumerable.Repeat(61, 9), 120, .. Enumerable.Repeat(121, 10)], times.Select(t => (int)t.TotalSeconds));
        Assert.Equal(1, _api.TooManyRequests);
        Assert.Equal(0, sender.Penalised > 0 && _time.GetUtcNow() - start > TimeSpan.FromMinutes(4) ? 1 : 0);
    }

    [Fact]
    public async Task ATelegramWithItsOwnClockAndAJitteryNetworkNeverHasToRefuseASend()
    {
        // Two clocks, ours and Telegram's, each twenty times real time and neither moved by the test; calls take 0 to
        // 600 ms each way on Telegram's clock, so concurrent sends overtake one another on the way.
        var theirs = new ScaledTimeProvider(20);
        var ours = new ScaledTimeProvider(20);
        await using var api = await FakeBotApi.StartAsync(theirs);
        api.Limits = new FakeLimits();
        api.NetworkDelay = (TimeSpan.Zero, TimeSpan.FromMilliseconds(600));
        var client = api.CreateClient();
        var sender = new MessageSender(client, new MessageSenderOptions
        {
            PerChat = new ArrivalWindowLimiter<long>("chat", new SlidingWindowOptions { PermitLimit = 3, Window = TimeSpan.FromSeconds(3) }, ours),
            PerGroup = new ArrivalWindowLimiter<long>("group", new SlidingWindowOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1) }, ours),
            Global = new ArrivalWindowLimiter<long>("global", new SlidingWindowOptions { PermitLimit = 30, Window = TimeSpan.FromSeconds(1) }, ours),
            MaxReplyAge = TimeSpan.FromHours(1),
        }, ours, NullLogger<MessageSender>.Instance);

        // Three groups get 45 each (over two minutes of their budget), forty people 4 each, all at once.
        var sends = Enumerable.Range(0, 3).SelectMany(g => Enumerable.Range(0, 45).Select(i => (Chat: -1_000L - g, Text: $"g{g} {i}")))
            .Concat(Enumerable.Range(0, 40).SelectMany(p => Enumerable.Range(0, 4).Select(i => (Chat: 5_000L + p, Text: $"p{p} {i}"))))
            .Select(s => sender.SendTextAsync(new OutgoingMessage { ChatId = s.Chat, Text = s.Text }, CancellationToken.None))
            .ToList();
        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(3 * 45 + 40 * 4, api.Sent.Count);
        Assert.Equal(0, api.TooManyRequests);
        Assert.Empty(api.LimitRefusals);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task AnySequenceOfSendsFloodWaitsAndClockJumpsEndsInASendADropOrATelegramError(int seed)
    {
        // The property: whatever 429s (retry_after from 1 s to a day) and clock jumps come in whatever order, a send either
        // arrives, is dropped as a stale reply, or fails with Telegram's own 429; nothing is sent inside a flood wait and no
        // wait the sender computes is negative or too long for a timer (the manual clock, like the real one, throws for those).
        var random = new Random(seed);
        var sender = Sender(new MessageSenderOptions
        {
            PerChat = Window(3, TimeSpan.FromSeconds(3)),
            PerGroup = Window(20, TimeSpan.FromMinutes(1)),
            Global = Window(30, TimeSpan.FromSeconds(1)),
            MaxAttempts = 3,
        });
        var sends = new List<Task<IReadOnlyList<global::Telegram.Bot.Types.Message>>>();
        for (var step = 0; step < 150; step++)
        {
            switch (random.Next(10))
            {
                case < 5:
                    var chat = random.Next(2) == 0 ? -1 - random.Next(3) : 1 + random.Next(3);
                    var priority = random.Next(3) == 0 ? SendPriority.Bulk : SendPriority.Reply;
                    sends.Add(sender.SendTextAsync(new OutgoingMessage { ChatId = chat, Text = $"s{step}", Priority = priority }, CancellationToken.None));
                    break;
                case < 7:
                    var retryAfter = random.Next(4) switch { 0 => 1 + random.Next(5), 1 => 1 + random.Next(120), 2 => 1 + random.Next(3600), _ => 1 + random.Next(86_400) };
                    _api.FailNext("sendMessage", 429, $"Too Many Requests: retry after {retryAfter}", retryAfter: retryAfter);
                    break;
                case < 9:
                    await ParkedAsync(sender);
                    _time.Advance(TimeSpan.FromMilliseconds(random.Next(2_000)));
                    break;
                default:
                    // The machine slept, or the clock was stepped: hours or days pass at once.
                    await ParkedAsync(sender);
                    _time.Advance(TimeSpan.FromSeconds(random.Next(3) == 0 ? random.Next(3 * 86_400) : random.Next(600)));
                    break;
            }
        }
        // Let everything run out: a day and a half of clock, a minute at a time.
        for (var i = 0; i < 2_200 && !sends.All(s => s.IsCompleted); i++)
        {
            await ParkedAsync(sender);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.All(sends, s => Assert.True(s.IsCompleted, "a send never finished"));
        foreach (var send in sends.Where(s => s.IsFaulted))
        {
            var error = Assert.IsType<global::Telegram.Bot.Exceptions.ApiRequestException>(send.Exception!.InnerException);
            Assert.Equal(429, error.ErrorCode);
        }
        Assert.Equal(0, _api.SendsInsideRetryWindow);
    }
}
