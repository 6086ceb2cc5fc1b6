using ChatStats.Bot.Commands;
using ChatStats.Bot.Throttling;
using ChatStats.Testing;
using ChatStats.Throttling.LoadShedding;

namespace ChatStats.Bot.Tests.Throttling;

/// <summary>The daily heavy-work quota and load shedding, through the running bot on a manual clock.</summary>
public sealed class QuotaAndLoadTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    // 2026-03-14 20:00 UTC: 21:00 in Berlin, three hours before its midnight.
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));
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
                ["Limits:DailyHeavyQuota"] = "2",
                ["Limits:AiConcurrency"] = "8",
                // Readings are fed by the test, not taken from this busy test process.
                ["Limits:LoadShedding:Enabled"] = "false",
                ["Sender:PerChatBurst"] = "100",
                ["Sender:PerGroupPerMinute"] = "1000",
            },
            services: s =>
            {
                s.AddSingleton<TimeProvider>(_time);
                s.AddScoped<IBotCommand, ReportProbe>();
            });
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    /// <summary>Stands in for /report until the jobs issue brings it: heavy, and paid from the daily quota.</summary>
    private sealed class ReportProbe(Replies replies) : IBotCommand
    {
        public string Name => "probe";
        public string DescriptionKey => "CommandStats";
        public bool IsHeavy => true;
        public bool UsesDailyQuota => true;
        public Task ExecuteAsync(CommandContext context, CancellationToken ct) => replies.SendAsync(context.Message, "report started", ct);
    }

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    private async Task<string> AskAsync(FakeChat chat, FakeUser user, string text)
    {
        var before = _api.Sent.Count(s => s.ChatId == chat.Id);
        _api.AddUpdate(UpdateFactory.Message(chat, Interlocked.Increment(ref _messageId), user, Now, text));
        return (await _api.WaitForSentAsync(s => s.ChatId == chat.Id, before + 1, BotHarness.Patience))[^1].Text;
    }

    [Fact]
    public async Task AChatGetsItsDailyQuotaAndHearsWhenItResetsInItsOwnTimeZone()
    {
        var chat = new FakeChat(-100_501, "Reports", "supergroup");
        var ann = new FakeUser(951, "Ann");
        var bob = new FakeUser(952, "Bob");
        Assert.Contains("/stats", await AskAsync(chat, ann, "/start"));
        await _db.ExecuteAsync("UPDATE chats SET time_zone = 'Europe/Berlin' WHERE id = $1", chat.Id);

        Assert.Equal("report started", await AskAsync(chat, ann, "/probe"));
        Assert.Equal("report started", await AskAsync(chat, bob, "/probe"));
        var refused = await AskAsync(chat, new FakeUser(953, "Cleo"), "/probe");

        Assert.Equal("This chat has used all 2 reports and summaries for today. The count resets at 00:00 (Europe/Berlin), in 3 h 0 min.", refused);
        Assert.Equal(2, await _db.ScalarAsync<int>("SELECT used FROM chat_daily_usage WHERE chat_id = $1", chat.Id));

        // Berlin's midnight is 23:00 UTC: a new day there, a new quota.
        _time.Advance(TimeSpan.FromHours(3));
        Assert.Equal("report started", await AskAsync(chat, new FakeUser(954, "Dan"), "/probe"));
    }

    [Fact]
    public async Task CriticalLoadRefusesHeavyCommandsButNotTheRestAndElevatedLoadHalvesTheGates()
    {
        var chat = new FakeChat(-100_502, "Loaded", "supergroup");
        var ann = new FakeUser(961, "Ann");
        var monitor = _bot.Get<LoadMonitor>();
        var limiters = _bot.Get<CommandLimiters>();
        Assert.Contains("/stats", await AskAsync(chat, ann, "/start"));

        for (var i = 0; i < 3; i++)
        {
            monitor.Observe(new LoadSample(99, 5_000, TimeSpan.FromSeconds(2)));
        }
        Assert.Equal(LoadLevel.Critical, monitor.Level);
        Assert.Equal(4, limiters.Ai.Capacity);

        Assert.Equal("The server is under heavy load, so statistics are paused for a moment. Try again in 30 s; new messages are still being counted.",
            await AskAsync(chat, ann, "/stats"));
        Assert.Contains("/stats", await AskAsync(chat, new FakeUser(962, "Bob"), "/start"));
        // Nothing of Ann's statistics allowance was spent while she was refused.
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chat_daily_usage"));

        // Calm for 30 s: one level down (ELEVATED keeps the gates halved but lets statistics through), another 30 s: normal.
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            monitor.Observe(new LoadSample(5, 0, TimeSpan.Zero));
        }
        Assert.Equal(LoadLevel.Elevated, monitor.Level);
        Assert.Equal(4, limiters.Ai.Capacity);
        Assert.Contains("Messages:", await AskAsync(chat, new FakeUser(963, "Cleo"), "/stats"));
        Assert.True(LoadSheddingService.RecurringWorkPaused(monitor));
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            monitor.Observe(new LoadSample(5, 0, TimeSpan.Zero));
        }
        Assert.Equal(LoadLevel.Normal, monitor.Level);
        Assert.Equal(8, limiters.Ai.Capacity);
        Assert.False(LoadSheddingService.RecurringWorkPaused(monitor));
    }
}
