using ChatStats.Telegram.Sending;
using ChatStats.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Telegram.Bot;

namespace ChatStats.Telegram.Tests.Sending;

public sealed class MessageSenderTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private FakeBotApi _api = null!;
    private ITelegramBotClient _client = null!;
    private MessageSender _sender = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeBotApi.StartAsync(_time);
        _client = _api.CreateClient();
        _sender = new MessageSender(_client, new MessageSenderOptions(), _time, NullLogger<MessageSender>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
    }

    [Fact]
    public void LongTextIsSplitAtLineBreaksWithinTheLimit()
    {
        var lines = Enumerable.Range(0, 500).Select(i => $"line {i:000} " + new string('x', 20)).ToList();
        var text = string.Join('\n', lines);

        var parts = MessageSender.Split(text, MessageSender.MaxMessageLength).ToList();

        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, MessageSender.MaxMessageLength));
        Assert.Equal(text, string.Join('\n', parts));
    }

    [Fact]
    public void ALineLongerThanTheLimitIsCutWithoutSplittingASurrogatePair()
    {
        var text = string.Concat(Enumerable.Repeat("🦄", 3000));

        var parts = MessageSender.Split(text, MessageSender.MaxMessageLength).ToList();

        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.False(char.IsHighSurrogate(p[^1])));
    }

    [Theory]
    [InlineData("&lt;b&gt;")]
    [InlineData("<b>x</b>")]
    public void ALineLongerThanTheLimitIsCutBetweenEntitiesAndTags(string piece)
    {
        // Once cut inside "&lt;", the part was refused as HTML and never arrived.
        var text = "ab" + string.Concat(Enumerable.Repeat(piece, 2 * MessageSender.MaxMessageLength / piece.Length));

        var parts = MessageSender.Split(text, MessageSender.MaxMessageLength).ToList();

        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.InRange(p.Length, 1, MessageSender.MaxMessageLength));
        Assert.All(parts.Skip(1), p => Assert.StartsWith(piece[..1], p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFloodWaitIsHonouredBeforeRetrying()
    {
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 4", retryAfter: 4);

        var sending = _sender.SendTextAsync(new OutgoingMessage { ChatId = -100, Text = "hi" }, CancellationToken.None);
        await Eventually.TrueAsync(() => _time.PendingTimers > 0, "the send to be held by its flood wait");
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.True(_time.PendingTimers > 0, "the flood wait is not over after 3 of 4 seconds");
        Assert.Empty(_api.Sent);
        _time.Advance(TimeSpan.FromSeconds(1));
        await sending;

        Assert.Equal("hi", Assert.Single(_api.Sent).Text);
    }

    [Fact]
    public async Task AMigratedGroupIsFollowedToItsSupergroup()
    {
        long? migratedTo = null;
        _sender.ChatMigrated += (_, to) => migratedTo = to;
        _api.FailNext("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat", migrateTo: -100555);

        await _sender.SendTextAsync(new OutgoingMessage { ChatId = -555, Text = "hi" }, CancellationToken.None);

        Assert.Equal(-100555, Assert.Single(_api.Sent).ChatId);
        Assert.Equal(-100555, migratedTo);
    }

    [Fact]
    public async Task AnOversizedReplyArrivesInSeveralMessages()
    {
        var text = string.Join('\n', Enumerable.Range(0, 400).Select(i => $"<b>{i}</b> &amp; row"));

        var sent = await _sender.SendTextAsync(new OutgoingMessage { ChatId = -1, Text = text, ReplyToMessageId = 9 }, CancellationToken.None);

        Assert.InRange(sent.Count, 2, 3);
        Assert.Equal(sent.Count, _api.Sent.Count);
        Assert.Equal(9, _api.Sent.First().ReplyTo);
        Assert.Null(_api.Sent.Last().ReplyTo);
        Assert.Contains("399 & row", _api.Sent.Last().Text);
    }
}
