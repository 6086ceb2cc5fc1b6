using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Throttling;

/// <summary>The limits in front of the handlers, through the running bot on a manual clock.</summary>
public sealed class CommandGuardTests : IAsyncLifetime
{
    private const long T = UpdateFactory.BaseDate;
    private readonly PostgresDatabase _db = new();
    private readonly ManualTimeProvider _time = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;
    private int _messageId;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString,
            settings: new Dictionary<string, string?>
            {
                ["Limits:Tiers:TINY:PerSecond"] = "1",
                ["Limits:Tiers:TINY:PerMinute"] = "10",
                ["Limits:Tiers:TINY:PerHour"] = "100",
                ["Limits:Tiers:TINY:Burst"] = "4",
                // The sender's own limits are tested elsewhere; here they must not hold replies on a frozen clock.
                ["Sender:PerChatBurst"] = "100",
                ["Sender:PerGroupPerMinute"] = "1000",
            },
            services: s => s.AddSingleton<TimeProvider>(_time));
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private long[] Send(FakeChat chat, FakeUser user, params string[] texts) =>
        _api.AddUpdates(texts.Select(t => UpdateFactory.Message(chat, Interlocked.Increment(ref _messageId), user, T, t)));

    private Task<IReadOnlyList<SentMessage>> Replies(long chatId, int count) =>
        _api.WaitForSentAsync(s => s.ChatId == chatId, count, BotHarness.Patience);

    [Fact]
    public async Task TheEleventhCommandInAMinuteIsRefusedOnceWithTheRealWaitAndNeverReachesItsHandler()
    {
        var chat = new FakeChat(-100_301, "Spam", "supergroup");
        var user = new FakeUser(901, "Spammer");
        Send(chat, user, [.. Enumerable.Repeat("/start", 10)]);
        await Replies(chat.Id, 10);
        _time.Advance(TimeSpan.FromSeconds(15));

        Send(chat, user, [.. Enumerable.Repeat("/start", 5)]);
        await Replies(chat.Id, 11);
        await _bot.SettledAsync();

        var sent = _api.Sent.Where(s => s.ChatId == chat.Id).ToList();
        Assert.Equal(11, sent.Count);
        Assert.Equal(10, sent.Count(s => s.Text.Contains("/stats", StringComparison.Ordinal)));
        Assert.Equal("You're sending commands too fast. Try again in 45 s.", sent[^1].Text);

        _time.Advance(TimeSpan.FromSeconds(45));
        Send(chat, user, "/start");
        Assert.Contains("/stats", (await Replies(chat.Id, 12))[^1].Text);
    }

    [Fact]
    public async Task StatisticsAreLimitedToThreeInFiveMinutesPerPerson()
    {
        var chat = new FakeChat(-100_302, "Stats", "supergroup");
        var ann = new FakeUser(902, "Ann");
        for (var i = 0; i < 4; i++)
        {
            Send(chat, ann, "/stats");
            await Replies(chat.Id, i + 1);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        var sent = _api.Sent.Where(s => s.ChatId == chat.Id).ToList();
        Assert.Equal(3, sent.Count(s => s.Text.Contains("Messages:", StringComparison.Ordinal)));
        Assert.Equal("Statistics are limited to 3 requests per 5 min for each person. The next one is possible in 5 min.", sent[^1].Text);
        Send(chat, new FakeUser(903, "Bob"), "/stats");
        Assert.Contains("Messages:", (await Replies(chat.Id, 5))[^1].Text);
    }

    [Fact]
    public async Task AnAdminOnlyCommandAsksTelegramWhoTheAdminsAre()
    {
        var chat = new FakeChat(-100_303, "Strict", "supergroup");
        var admin = new FakeUser(904, "Admin");
        var member = new FakeUser(905, "Member");
        _api.SetAdministrators(chat.Id, (admin.Id, admin.FirstName, "creator"));
        Send(chat, member, "hello");
        await _bot.SettledAsync();
        await _db.ExecuteAsync("""UPDATE chats SET settings = '{"commands": {"stats": "admin", "help": "disabled"}}' WHERE id = $1""", chat.Id);

        Send(chat, member, "/stats");
        var refused = (await Replies(chat.Id, 1))[^1];
        Send(chat, admin, "/stats");
        var allowed = (await Replies(chat.Id, 2))[^1];
        _time.Advance(TimeSpan.FromSeconds(61));
        Send(chat, admin, "/help");
        var disabled = (await Replies(chat.Id, 3))[^1];

        Assert.Equal("Only admins can use /stats in this chat.", refused.Text);
        Assert.Contains("Messages:", allowed.Text);
        Assert.Equal("/help is turned off in this chat by its admins.", disabled.Text);
    }

    [Fact]
    public async Task AChatOverItsTierIsToldWhenToRetry()
    {
        var chat = new FakeChat(-100_304, "Busy chat", "supergroup");
        var users = Enumerable.Range(0, 7).Select(i => new FakeUser(910 + i, $"U{i}")).ToList();
        Send(chat, users[0], "hello");
        await _bot.SettledAsync();
        await _db.ExecuteAsync("UPDATE chats SET tier = 'TINY' WHERE id = $1", chat.Id);
        foreach (var user in users.Take(6))
        {
            Send(chat, user, "/start");
        }
        await Replies(chat.Id, 6);
        await _bot.SettledAsync();

        // A burst of four, then each further person hears once when to come back.
        var sent = _api.Sent.Where(s => s.ChatId == chat.Id).ToList();
        Assert.Equal(6, sent.Count);
        Assert.Equal(4, sent.Count(s => s.Text.Contains("/stats", StringComparison.Ordinal)));
        Assert.All(sent.Skip(4), s => Assert.Equal("This chat is over its command rate. Try again in 1 s.", s.Text));
        await _db.ExecuteAsync("UPDATE chats SET tier = 'PREMIUM' WHERE id = $1", chat.Id);
        Send(chat, users[6], "/start");
        Assert.Contains("/stats", (await Replies(chat.Id, 7))[^1].Text);
    }

    [Fact]
    public async Task NoticesAreInTheChatsLanguage()
    {
        var chat = new FakeChat(-100_305, "Чат", "supergroup");
        var user = new FakeUser(920, "Иван", LanguageCode: "ru");
        Send(chat, user, [.. Enumerable.Repeat("/start", 11)]);

        Assert.Equal("Слишком много команд подряд. Попробуйте через 60 с.", (await Replies(chat.Id, 11))[^1].Text);
    }
}
