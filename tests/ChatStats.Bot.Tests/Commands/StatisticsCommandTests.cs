using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Commands;

/// <summary>The statistics commands through the running bot, on a manual clock: Tuesday 31 March 2026, 12:00 UTC.</summary>
public sealed class StatisticsCommandTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 3, 31, 12, 0, 0, TimeSpan.Zero);
    private static readonly FakeChat Chat = new(-100_800, "Stats lab");
    private static readonly FakeUser Ann = new(801, "Ann", Username: "ann_a");
    private static readonly FakeUser Bob = new(802, "Bob", Username: "bobby");
    private static readonly FakeUser Cleo = new(803, "Cleo");
    private static readonly FakeUser Dan = new(804, "Dan");
    private static readonly FakeUser Eve = new(805, "Eve");
    private static readonly FakeUser Admin = new(806, "Admin");
    private readonly PostgresDatabase _db = new();
    private readonly ManualTimeProvider _time = new(Now);
    private FakeBotApi _api = null!;
    private BotHarness? _bot;
    private int _messageId = 100;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _api.SetAdministrators(Chat.Id, (Admin.Id, Admin.FirstName, "creator"));
    }

    public async Task DisposeAsync()
    {
        if (_bot is not null)
        {
            await _bot.DisposeAsync();
        }
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private async Task StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Sender:PerChatBurst"] = "100",
            ["Sender:PerGroupPerMinute"] = "1000",
            ["Limits:HeavyPerUser"] = "1000",
            ["Limits:CommandsPerUser"] = "1000",
            ["Limits:Tiers:FREE:Burst"] = "1000",
            ["Limits:Tiers:FREE:PerMinute"] = "10000",
            ["Limits:Tiers:FREE:PerHour"] = "100000",
        };
        foreach (var (k, v) in settings ?? [])
        {
            all[k] = v;
        }
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, settings: all, services: s => s.AddSingleton<TimeProvider>(_time));
    }

    private static long At(DateTimeOffset t) => t.ToUnixTimeSeconds();

    /// <summary>A small chat: Ann and Bob talk today, Cleo spoke 40 days ago, Dan joined then and never wrote, Eve left.</summary>
    private async Task SeedAsync()
    {
        var today = Now.AddHours(-2);
        var old = Now.AddDays(-40);
        List<string> updates =
        [
            UpdateFactory.Joined(Chat, ++_messageId, Dan, At(old), Dan),
            UpdateFactory.Joined(Chat, ++_messageId, Eve, At(old), Eve),
            UpdateFactory.Message(Chat, ++_messageId, Cleo, At(old), "long ago words"),
            UpdateFactory.Left(Chat, ++_messageId, Eve, At(old.AddHours(1)), Eve),
            UpdateFactory.TitleChanged(Chat, ++_messageId, Admin, At(old.AddDays(1)), "Stats lab"),
        ];
        var annFirst = _messageId + 1;
        string[] annTexts = ["hello world", "the pizza is great", "pizza again https://pizza.example.com", "@bobby pizza", "/stats@OtherBot pizza", "Пицца пицца и всё"];
        foreach (var text in annTexts)
        {
            updates.Add(UpdateFactory.Message(Chat, ++_messageId, Ann, At(today), text));
        }
        for (var i = 0; i < 3; i++)
        {
            updates.Add(UpdateFactory.Message(Chat, ++_messageId, Bob, At(today.AddMinutes(5)), "sure thing", replyTo: annFirst + i, replyToFrom: Ann));
        }
        updates.Add(UpdateFactory.Message(Chat, ++_messageId, Bob, At(today.AddMinutes(6)), null, FakeKind.Photo));
        _api.AddUpdates(updates);
        await _bot!.SettledAsync();
    }

    private async Task<SentMessage> AskAsync(FakeUser user, string text, int? replyTo = null, FakeUser? replyToFrom = null)
    {
        var before = _api.Sent.Count(s => s.ChatId == Chat.Id);
        _api.AddUpdate(UpdateFactory.Message(Chat, ++_messageId, user, At(_time.GetUtcNow()), text, replyTo: replyTo, replyToFrom: replyToFrom));
        return (await _api.WaitForSentAsync(s => s.ChatId == Chat.Id, before + 1, BotHarness.Patience))[^1];
    }

    [Fact]
    public async Task StatsCoverTheDefaultThirtyDaysAndCompareWithTheThirtyBefore()
    {
        await StartAsync();
        await SeedAsync();

        var stats = (await AskAsync(Ann, "/stats")).Text;
        var all = (await AskAsync(Ann, "/stats all")).Text;

        // The command is a message too: ten seeded this morning, and the /stats itself at noon.
        Assert.StartsWith("Stats lab · 2 Mar 2026 – 31 Mar 2026\nMessages: 11\nActive members: 2\nWords: 24\n", stats);
        Assert.Contains("Media: 1 (9%)", stats);
        Assert.Contains("Busiest day: 31 Mar 2026 (11 messages)", stats);
        Assert.Contains("Busiest hour: 10:00–11:00 (10 messages)", stats);
        Assert.Contains("Against the 30 d before: +1,000% (1 → 11)", stats); // Cleo's message, 40 days ago, is in the 30 days before
        Assert.Contains("1. Ann — 7 (64%)\n████████████████\n2. Bob — 4 (36%)\n█████████▏", stats);
        Assert.StartsWith("Stats lab · all time\nMessages: 13\nActive members: 3", all);
        Assert.DoesNotContain("Against", all);
    }

    [Theory]
    [InlineData("/stats 2026-13", "'2026-13' is not a period. Usage: /stats [period]\nPeriods: today, yesterday, 7d")]
    [InlineData("/stats 0d", "'0d': a number of days from 1 to 3660. Usage: /stats [period]")]
    [InlineData("/stats 2026-03-10..2026-03-01", "'2026-03-10..2026-03-01': the range ends before it starts.")]
    [InlineData("/stats please", "I didn't understand «please». Usage: /stats [period]\nPeriods:")]
    [InlineData("/top 10 by colour", "I didn't understand «by». Usage: /top [n] [period] [by messages|words|chars|media]")]
    [InlineData("/inactive soon", "I didn't understand «soon». Usage: /inactive [days]")]
    public async Task BadArgumentsAreAnsweredWithTheAcceptedForms(string command, string expected)
    {
        await StartAsync();
        await SeedAsync();

        Assert.StartsWith(expected, (await AskAsync(Ann, command)).Text);
    }

    [Fact]
    public async Task PeriodsFollowTheChatsCalendar()
    {
        await StartAsync();
        await SeedAsync();

        var today = (await AskAsync(Ann, "/stats today")).Text;
        Assert.StartsWith("Stats lab · 31 Mar 2026\nMessages: 11", today);
        Assert.Contains("Against the 24 h before: no messages then", today);
        Assert.Equal("No messages here in 30 Mar 2026.", (await AskAsync(Ann, "/stats yesterday")).Text);
        Assert.StartsWith("Stats lab · 1 Mar 2026 – 31 Mar 2026\nMessages: 13", (await AskAsync(Ann, "/stats 2026-03")).Text);
        Assert.StartsWith("Stats lab · 19 Feb 2026 – 21 Feb 2026\nMessages: 1", (await AskAsync(Ann, "/stats 2026-02-19..2026-02-21")).Text);
    }

    [Fact]
    public async Task TopRanksByTheChosenMeasureWithSharesAndBars()
    {
        await StartAsync();
        await SeedAsync();

        var words = (await AskAsync(Ann, "/top 1 7d by words")).Text;
        var media = (await AskAsync(Ann, "/top media")).Text;

        Assert.StartsWith("Top 1 by words, 25 Mar 2026 – 31 Mar 2026\n1. Ann — 22 (79%)\n████████████████", words);
        Assert.StartsWith("Top 1 by media, 2 Mar 2026 – 31 Mar 2026\n1. Bob — 1 (100%)", media);
    }

    [Fact]
    public async Task MeAndUserDescribeOneMember()
    {
        await StartAsync();
        await SeedAsync();

        var me = (await AskAsync(Ann, "/me")).Text;
        var byName = (await AskAsync(Ann, "/user @BOBBY all")).Text;
        var byReply = (await AskAsync(Ann, "/user", replyTo: 120, replyToFrom: Cleo)).Text;
        var unknown = (await AskAsync(Ann, "/user @nobody")).Text;

        Assert.Equal("Ann · 2 Mar 2026 – 31 Mar 2026\nMessages: 7, rank 1 of 2\nWords per message: 2.6\nMost active hours: 10:00, 12:00\n"
            + "Longest daily streak: 1 day (to 31 Mar 2026)\nFirst seen: 31 Mar 2026 · last seen: 31 Mar 2026", me);
        Assert.StartsWith("Bob · all time\nMessages: 4, rank 2 of 3", byName);
        Assert.Equal("No messages from Cleo here in 2 Mar 2026 – 31 Mar 2026.", byReply);
        Assert.Equal("I don't know @nobody in this chat: they need to have written here since I joined.", unknown);
    }

    [Fact]
    public async Task ActivityAndHistoryArriveAsPngChartsWithCaptions()
    {
        await StartAsync();
        await SeedAsync();

        var activity = await AskAsync(Ann, "/activity");
        var history = await AskAsync(Ann, "/history all");

        Assert.Equal("sendPhoto", activity.Method);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], activity.File![..4]);
        Assert.Equal("Hour × weekday, 2 Mar 2026 – 31 Mar 2026. Times in UTC.", activity.Text);
        Assert.Equal("sendPhoto", history.Method);
        Assert.Equal("Messages per day, all time: 13 in all, 0.3 a day on average, busiest 31 Mar 2026 (12). Last 7 days: 1.7 a day, up from 0.", history.Text);
    }

    [Fact]
    public async Task EachAnswerRecordsWhatTheBotCostTheAskerApartFromTelegramsLimits()
    {
        var latencies = new System.Collections.Concurrent.ConcurrentBag<(string Instrument, string? Command, double Seconds)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name is "chatstats.reply.latency" or "chatstats.reply.limit_wait")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            string? command = null;
            foreach (var tag in tags)
            {
                command = tag.Key == "command" ? tag.Value as string : command;
            }
            latencies.Add((instrument.Name, command, value));
        });
        listener.Start();
        await StartAsync();
        await SeedAsync();

        await AskAsync(Ann, "/stats");

        // Recorded once the handler is done, just after the send: wait for it rather than race it.
        await Eventually.TrueAsync(() => Task.FromResult(latencies.Any(l => l.Instrument == "chatstats.reply.latency" && l.Command == "stats")), "the reply latency");
        Assert.All(latencies.Where(l => l.Command == "stats"), l => Assert.InRange(l.Seconds, 0, 60));
        Assert.Contains(latencies, l => l.Instrument == "chatstats.reply.limit_wait" && l.Command == "stats");
    }

    [Fact]
    public async Task WithPngOffChartsComeAsText()
    {
        await StartAsync(new() { ["Charts:Png"] = "off" });
        await SeedAsync();

        var activity = await AskAsync(Ann, "/activity");

        Assert.Equal("sendMessage", activity.Method);
        // Tuesday's row: the busy morning hour at the darkest level, the noon command a light cell.
        Assert.Contains("    0     6     12    18   23\nMon ························\nTue ··········█·░···········\n", activity.Text);
    }

    [Fact]
    public async Task WordsLeaveOutStopWordsLinksMentionsAndCommandsWithoutStemming()
    {
        await StartAsync();
        await SeedAsync();

        var words = (await AskAsync(Ann, "/words")).Text;
        var annsOnly = (await AskAsync(Bob, "/words @ann_a")).Text;

        Assert.StartsWith("Top words, 2 Mar 2026 – 31 Mar 2026\n1. pizza — 4 ██████████\n2. sure — 3", words);
        Assert.Contains("4. пицца — 2", words);
        Assert.EndsWith("10 messages with text, 15 words counted.", words);
        Assert.DoesNotContain("the —", words);
        Assert.DoesNotContain("http", words);
        Assert.DoesNotContain("bobby", words);
        Assert.DoesNotContain("stats", words);
        Assert.DoesNotContain(" и —", words);
        Assert.DoesNotContain("все", words); // "всё" is folded to "все", a stop word
        Assert.DoesNotContain("sure", annsOnly);
    }

    [Fact]
    public async Task TypesRepliesInactiveAndTitles()
    {
        await StartAsync();
        await SeedAsync();

        var types = (await AskAsync(Ann, "/types all")).Text;
        var replies = (await AskAsync(Ann, "/replies")).Text;
        var inactive = (await AskAsync(Ann, "/inactive 30")).Text;
        var titles = (await AskAsync(Ann, "/titles")).Text;

        Assert.StartsWith("Kinds of messages, all time\ntext — 11 (91.7%)\n████████████████\nphotos — 1 (8.3%)", types);
        Assert.Equal("Who replies to whom, 2 Mar 2026 – 31 Mar 2026\n1. Bob → Ann — 3", replies);
        Assert.Equal("Not seen for 30 days or more\n• Dan — joined, never wrote\n• Cleo — last seen 19 Feb 2026", inactive);
        Assert.Equal("Title history\n20 Feb 2026 12:00 — Stats lab by Admin\n19 Feb 2026 12:00 — Stats lab", titles);
    }

    [Fact]
    public async Task NamesThatWouldTurnOrHideTheLineAreIsolatedOrCleanedWhereverTheyAreListed()
    {
        await StartAsync();
        // A right-to-left name, an override that would reverse the rest of the line, and a name of zero-width spaces.
        var dana = new FakeUser(811, "دانا");
        var evil = new FakeUser(812, "\u202Eevil");
        var blank = new FakeUser(813, "\u200B\u200B");
        _api.AddUpdates(
        [
            UpdateFactory.Message(Chat, ++_messageId, dana, At(Now.AddHours(-1)), "one"),
            UpdateFactory.Message(Chat, ++_messageId, dana, At(Now.AddHours(-1)), "two", replyTo: _messageId - 1, replyToFrom: dana),
            UpdateFactory.Message(Chat, ++_messageId, evil, At(Now.AddHours(-1)), "three", replyTo: _messageId - 1, replyToFrom: dana),
            UpdateFactory.Message(Chat, ++_messageId, blank, At(Now.AddHours(-1)), "four"),
        ]);
        await _bot!.SettledAsync();

        var top = (await AskAsync(Ann, "/top")).Text;
        var replies = (await AskAsync(Ann, "/replies")).Text;

        // The RTL name in isolates, so " — 2 (50%)" stays after it and the line stays left to right; the override gone.
        Assert.Contains("1. \u2068دانا\u2069 — 2 (", top);
        Assert.Contains(". evil — 1 (", top);
        Assert.Contains(". ? — 1 (", top);
        Assert.DoesNotContain('\u202E', top + replies);
        Assert.Contains("evil → \u2068دانا\u2069 — 1", replies);
    }

    [Fact]
    public async Task OptOutRemovesTextAndLeaderboardPlaceAndOptInRestoresTheFuture()
    {
        await StartAsync();
        await SeedAsync();

        var answer = (await AskAsync(Ann, "/optout")).Text;
        var top = (await AskAsync(Bob, "/top")).Text;
        _api.AddUpdate(UpdateFactory.Message(Chat, ++_messageId, Ann, At(Now), "secret pizza"));
        await _bot!.SettledAsync();

        Assert.StartsWith("Done: I no longer keep the text", answer);
        Assert.DoesNotContain("Ann", top);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE sender_user_id = $1 AND text IS NOT NULL", Ann.Id));
        // Still counted in totals.
        Assert.StartsWith("Stats lab · 2 Mar 2026 – 31 Mar 2026\nMessages: 14", (await AskAsync(Bob, "/stats")).Text);

        Assert.StartsWith("Welcome back", (await AskAsync(Ann, "/optin")).Text);
        _api.AddUpdate(UpdateFactory.Message(Chat, ++_messageId, Ann, At(Now), "public pizza"));
        await _bot!.SettledAsync();
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE sender_user_id = $1 AND text IS NOT NULL", Ann.Id));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    [Fact]
    public async Task ForgetMeDeletesMessagesAndRollupsTogether()
    {
        await StartAsync();
        await SeedAsync();

        var answer = (await AskAsync(Bob, "/forgetme")).Text;

        Assert.StartsWith("Deleted: 5 of your messages and all your statistics in this chat.", answer); // four, and the /forgetme
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chat_user_hourly WHERE user_id = $1", Bob.Id));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE reply_to_user_id = $1 OR (sender_user_id = $1 AND message_id < $2)", Bob.Id, _messageId));
        Assert.Equal("No replies between members in 2 Mar 2026 – 31 Mar 2026.", (await AskAsync(Ann, "/replies")).Text);
        await RollupInvariant.AssertMatchesMessagesAsync(_db);

        var privateChat = new FakeChat(Ann.Id, "Ann", "private");
        _api.AddUpdate(UpdateFactory.Message(privateChat, 1, Ann, At(Now), "/forgetme"));
        var everywhere = (await _api.WaitForSentAsync(s => s.ChatId == Ann.Id, 1, BotHarness.Patience))[0].Text;
        Assert.StartsWith("Deleted: 7 messages and all your statistics in 1 chat", everywhere); // six, and her /replies
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM users WHERE id = $1", Ann.Id));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    [Fact]
    public async Task SettingsAreShownToAllAndChangedByAdminsOnly()
    {
        await StartAsync();
        await SeedAsync();

        var shown = (await AskAsync(Ann, "/settings")).Text;
        var refused = (await AskAsync(Ann, "/settings tz Europe/Berlin")).Text;
        var badZone = (await AskAsync(Admin, "/settings tz Mars/Olympus")).Text;
        var zone = (await AskAsync(Admin, "/settings tz Asia/Kolkata")).Text;
        var rule = (await AskAsync(Admin, "/settings command top admin")).Text;
        var locked = (await AskAsync(Admin, "/settings command forgetme disabled")).Text;
        var unknown = (await AskAsync(Admin, "/settings colour blue")).Text;
        var topForAnn = (await AskAsync(Ann, "/top")).Text;
        var lang = (await AskAsync(Admin, "/settings lang ru")).Text;

        Assert.StartsWith("Settings of this chat\nTime zone (tz): UTC\nLanguage (lang): each person's own\nKeep messages (retention): forever\nStore text (store_text): on\nDaily digest (digest): off\nSummaries (/summary): computed here (no AI model configured)\nCommand rules: none", shown);
        Assert.Equal("Only the chat's admins can change settings.", refused);
        Assert.StartsWith("'Mars/Olympus' is not a time zone I know.", badZone);
        Assert.Equal("Saved: tz is now Asia/Kolkata.", zone);
        Assert.Equal("Saved: /top is now admin.", rule);
        Assert.Equal("/forgetme cannot be restricted: it is how people control their own data.", locked);
        Assert.StartsWith("'colour blue' is not a setting.", unknown);
        Assert.Equal("Only admins can use /top in this chat.", topForAnn);
        Assert.Equal("Сохранено: lang теперь ru.", lang);
        // In Kolkata (+05:30) Ann's 10:00 UTC messages were written at 15:30: the 15:00 row.
        Assert.Contains("Самый активный час: 15:00–16:00", (await AskAsync(Ann, "/stats")).Text);
    }

    [Fact]
    public async Task StoreTextOffDeletesStoredTextAndKeepsNoMore()
    {
        await StartAsync();
        await SeedAsync();

        Assert.Equal("Saved: store_text is now off.", (await AskAsync(Admin, "/settings store_text off")).Text);
        _api.AddUpdate(UpdateFactory.Message(Chat, ++_messageId, Ann, At(Now), "not kept"));
        await _bot!.SettledAsync();

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1 AND text IS NOT NULL", Chat.Id));
        Assert.StartsWith("No text to count in", (await AskAsync(Ann, "/words")).Text);
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }
}
