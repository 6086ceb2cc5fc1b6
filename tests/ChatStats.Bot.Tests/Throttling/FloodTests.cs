using System.Collections.Concurrent;
using ChatStats.Bot.Commands;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Throttling;

/// <summary>
/// The issue's proof: 1,000 people in 50 chats sending commands as fast as they can for a simulated minute, with the
/// bot and the fake Bot API on one manual clock and Telegram answering some sends with 429.
/// </summary>
public sealed class FloodTests : IAsyncLifetime
{
    private const int Chats = 50;
    private const int PeoplePerChat = 20;
    private readonly PostgresDatabase _db = new();
    private readonly ManualTimeProvider _time = new();
    private readonly PingCommand.Runs _runs = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync(_time);
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString,
            settings: new Dictionary<string, string?> { ["Ingest:MaxDispatchWaitSeconds"] = "0" },
            services: s =>
            {
                s.AddSingleton<TimeProvider>(_time);
                s.AddSingleton(_runs);
                s.AddScoped<IBotCommand, PingCommand>();
            });
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task AFloodRunsNoRefusedCommandNoticesOncePerPersonAndKeepsTelegramsLimits()
    {
        var chats = Enumerable.Range(0, Chats).Select(c => new FakeChat(-100_500_000 - c, $"Flood {c}")).ToList();
        var people = Enumerable.Range(0, Chats * PeoplePerChat).Select(p => new FakeUser(50_000 + p, $"P{p}")).ToList();
        var author = new ConcurrentDictionary<(long Chat, int Message), long>();
        var messageId = 0;
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 3", retryAfter: 3, times: 10);
        var start = _time.GetUtcNow();

        // Everyone sends a command every two seconds for a minute: 30 rounds of 1,000.
        for (var round = 0; round < 30; round++)
        {
            var updates = new List<string>();
            for (var p = 0; p < people.Count; p++)
            {
                var chat = chats[p / PeoplePerChat];
                var id = ++messageId;
                author[(chat.Id, id)] = people[p].Id;
                updates.Add(UpdateFactory.Message(chat, id, people[p], UpdateFactory.BaseDate + round * 2, round % 3 == 0 ? "/start" : "/ping"));
            }
            var ids = _api.AddUpdates(updates);
            await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
            await Wait.UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM update_inbox") == 0, "the round to be recorded");
            await TickAsync();
            await TickAsync();
        }
        // Let queued replies go out (or go stale) over the next simulated minutes.
        for (var s = 0; s < 240; s++)
        {
            await TickAsync();
        }

        // No refused command ran: nobody's handler ran more than the ten a minute allows.
        Assert.True(_runs.ByPerson.Values.Max() <= 10, $"someone's command ran {_runs.ByPerson.Values.Max()} times in a minute");
        Assert.False(_runs.ByPerson.IsEmpty);
        Assert.All(_runs.ByChat.Values, n => Assert.True(n <= 200, $"a chat ran {n} commands, beyond its FREE tier"));

        var sent = _api.Sent.ToList();
        // Everyone sent twenty /ping: most were refused. (Notices are replies under the same send limits, so in a
        // flood some go stale or are shed; what matters is that nobody hears more than once.)
        Assert.True(_runs.ByPerson.Values.Sum() < people.Count * 20 / 2, $"{_runs.ByPerson.Values.Sum()} pings ran");
        var notices = sent.Where(s => s.Text.Contains("Try again", StringComparison.Ordinal)).ToList();
        // At most one notice per person: every refusal fell inside one notice window.
        var perPerson = notices.GroupBy(n => author[(n.ChatId, n.ReplyTo!.Value)]).Select(g => g.Count()).ToList();
        var most = perPerson.DefaultIfEmpty(0).Max();
        Assert.True(most <= 1, $"someone got {most} notices");

        Assert.Equal(0, _api.SendsInsideRetryWindow);
        foreach (var chat in sent.GroupBy(s => s.ChatId))
        {
            var times = chat.Select(s => s.At).Order().ToList();
            Assert.All(times, t => Assert.True(times.Count(u => u >= t && u < t + TimeSpan.FromSeconds(59)) <= 20,
                $"chat {chat.Key} got more than 20 messages in a minute: {string.Join(", ", chat.OrderBy(x => x.At).Select(x => $"{(x.At - start).TotalSeconds} s"))}"));
        }
        Assert.True(sent.Count > 0 && (_time.GetUtcNow() - start).TotalSeconds >= 300);
    }

    /// <summary>
    /// One second on the shared clock, then a pause until sends stop arriving: the fake stamps a send when it arrives,
    /// so sends permitted in this second must land before the clock moves on.
    /// </summary>
    private async Task TickAsync()
    {
        _time.Advance(TimeSpan.FromSeconds(1));
        for (int before = -1, i = 0; i < 50 && before != _api.Sent.Count; i++)
        {
            before = _api.Sent.Count;
            await Task.Delay(10);
        }
    }

    /// <summary>A command that only counts who ran it, so handler runs can be counted without sending anything.</summary>
    private sealed class PingCommand(PingCommand.Runs runs) : IBotCommand
    {
        public string Name => "ping";
        public string DescriptionKey => "CommandHelp";

        public Task ExecuteAsync(CommandContext context, CancellationToken ct)
        {
            runs.ByPerson.AddOrUpdate(context.Message.From!.Id, 1, (_, n) => n + 1);
            runs.ByChat.AddOrUpdate(context.ChatId, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }

        public sealed class Runs
        {
            public ConcurrentDictionary<long, int> ByPerson { get; } = new();
            public ConcurrentDictionary<long, int> ByChat { get; } = new();
        }
    }
}
