using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Commands;

/// <summary>Commands sent through the fake Bot API, answered by the running bot.</summary>
public sealed class CommandTests : IAsyncLifetime
{
    private const long T = UpdateFactory.BaseDate;
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private Task<IReadOnlyList<SentMessage>> RepliesIn(long chatId, int count = 1) =>
        _api.WaitForSentAsync(s => s.ChatId == chatId, count, BotHarness.Patience);

    [Fact]
    public async Task StatsShowsTotalsAndTheTopFiveWithNamesExactlyAsWritten()
    {
        var chat = new FakeChat(-100_101, "Tom & Jerry's <chat>");
        string[] names = ["<b>bold</b>", "Tom & Jerry", "_x_", "Дмитрий", "🦄 Unicorn", "a\u0000nul"];
        var users = names.Select((n, i) => new FakeUser(500 + i, n)).ToList();
        var updates = new List<string>();
        var id = 1;
        for (var u = 0; u < users.Count; u++)
        {
            for (var k = 0; k < 10 - u; k++)
            {
                updates.Add(UpdateFactory.Message(chat, id++, users[u], T + id, "one two"));
            }
        }
        updates.Add(UpdateFactory.Message(chat, id, users[0], T + id, "/stats all"));
        _api.AddUpdates(updates);

        var reply = (await RepliesIn(chat.Id)).Single();

        Assert.Equal(id, reply.ReplyTo);
        Assert.Contains("Tom & Jerry's <chat>", reply.Text);
        Assert.Contains("Messages: 46", reply.Text);
        Assert.Contains("Active members: 6", reply.Text);
        Assert.Contains("1. <b>bold</b> — 11", reply.Text);
        Assert.Contains("2. Tom & Jerry — 9", reply.Text);
        Assert.Contains("3. _x_ — 8", reply.Text);
        Assert.Contains("4. Дмитрий — 7", reply.Text);
        Assert.Contains("5. 🦄 Unicorn — 6", reply.Text);
        Assert.DoesNotContain("nul", reply.Text);
    }

    [Fact]
    public async Task ACommandForAnotherBotIsIgnored()
    {
        var chat = new FakeChat(-100_102, "Two bots");
        var ann = new FakeUser(601, "Ann");
        _api.AddUpdates([
            UpdateFactory.Message(chat, 1, ann, T, "/stats@OtherBot"),
            UpdateFactory.Message(chat, 2, ann, T + 1, "/help@" + FakeBotApi.BotUsername),
        ]);

        // One chat's updates are handled in order: once /help is answered, /stats@OtherBot has been dealt with.
        var replies = await RepliesIn(chat.Id);

        var reply = Assert.Single(_api.Sent, s => s.ChatId == chat.Id);
        Assert.Equal(2, reply.ReplyTo);
        Assert.Same(replies[0], reply);
    }

    [Fact]
    public async Task HelpIsInTheSendersLanguageAndListsTheCommands()
    {
        var chat = new FakeChat(-100_103, "Русский чат");
        _api.AddUpdate(UpdateFactory.Message(chat, 1, new FakeUser(602, "Иван", LanguageCode: "ru"), T, "/help"));

        var reply = (await RepliesIn(chat.Id)).Single();

        Assert.StartsWith("Команды ChatStats", reply.Text);
        Assert.Contains("/stats — сообщения, активные участники", reply.Text);
        Assert.Contains("/start", reply.Text);
    }

    [Fact]
    public async Task TheChatsLanguageSettingWinsOverTheSenders()
    {
        var chat = new FakeChat(-100_104, "Mixed");
        _api.AddUpdate(UpdateFactory.Message(chat, 1, new FakeUser(603, "Ann"), T, "hi"));
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id = $1", chat.Id) == 1, "the chat is recorded");
        await _db.ExecuteAsync("UPDATE chats SET language = 'ru' WHERE id = $1", chat.Id);
        _api.AddUpdate(UpdateFactory.Message(chat, 2, new FakeUser(603, "Ann", LanguageCode: "en"), T + 1, "/stats all"));

        Assert.StartsWith("Mixed · всё время\nСообщений: 2", (await RepliesIn(chat.Id)).Single().Text);
    }

    [Fact]
    public async Task RepliesGoToTheForumTopicTheCommandCameFrom()
    {
        var chat = new FakeChat(-100_105, "Forum", IsForum: true);
        _api.AddUpdate(UpdateFactory.Message(chat, 7, new FakeUser(604, "Ann"), T, "/start", threadId: 42));

        var reply = (await RepliesIn(chat.Id)).Single();

        Assert.Equal(42, reply.ThreadId);
        Assert.Contains("/stats", reply.Text);
    }

    [Fact]
    public async Task StatsInAPrivateChatExplainsWhereItWorks()
    {
        var me = new FakeChat(605, "Ann", "private");
        _api.AddUpdate(UpdateFactory.Message(me, 1, new FakeUser(605, "Ann"), T, "/stats"));

        Assert.Contains("works in groups", (await RepliesIn(me.Id)).Single().Text);
    }

    [Fact]
    public async Task AnAnonymousAdminCanAskAndAnEmptyChatSaysWhyThereIsNothingYet()
    {
        var chat = new FakeChat(-100_106, "Quiet");
        var anonymous = new FakeUser(1087968824, "Group", Username: "GroupAnonymousBot", IsBot: true);
        _api.AddUpdate(UpdateFactory.Message(chat, 1, new FakeUser(607, "Helper", Username: "helper_bot", IsBot: true), T, "/stats"));
        _api.AddUpdate(UpdateFactory.Message(chat, 2, anonymous, T + 1, "/stats", senderChat: chat));

        var reply = (await RepliesIn(chat.Id)).Single();

        Assert.Equal(2, reply.ReplyTo);
        Assert.Contains("No messages recorded here yet", reply.Text);
    }

    [Fact]
    public async Task BeingAddedToAGroupIsAnsweredWithAWelcome()
    {
        var chat = new FakeChat(-100_107, "New home");
        _api.AddUpdate(UpdateFactory.MyChatMember(chat, new FakeUser(609, "Owner"), T, "left", "member"));

        Assert.Contains("From now on I count", (await RepliesIn(chat.Id)).Single().Text);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<string>("SELECT coalesce(bot_status, '') FROM chats WHERE id = $1", chat.Id) == "member", "bot status recorded");
    }

    [Fact]
    public async Task CommandsInOneChatAreAnsweredInOrder()
    {
        // Ten commands from five people: within every limit (ten a person a minute, a burst of ten a chat).
        var chat = new FakeChat(-100_108, "Order");
        var people = Enumerable.Range(0, 5).Select(i => new FakeUser(610 + i, $"P{i}")).ToList();
        _api.AddUpdates(Enumerable.Range(1, 10).Select(i => UpdateFactory.Message(chat, i, people[i % 5], T + i, i % 2 == 0 ? "/help" : "/start")));

        var replies = await RepliesIn(chat.Id, 10);

        Assert.Equal(Enumerable.Range(1, 10), replies.Select(r => r.ReplyTo!.Value));
    }
}
