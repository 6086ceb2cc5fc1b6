using System.Collections.Concurrent;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Ingest;
using ChatStats.Testing;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Throttling;

/// <summary>
/// The flood an operator fears: history in 50 groups, then 1,000 people sending six commands each at once, against a Bot
/// API that enforces Telegram's limits on arrival, on a clock of its own, over a network that delays and reorders calls.
/// Both clocks run twenty times real time, so the minutes Telegram's limits are counted in pass in seconds.
/// </summary>
public sealed class FloodTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Chats = 50;
    private const int PeoplePerChat = 20;
    private const int HistoryPerChat = 60;
    private const int CommandsPerPerson = 6;
    private static readonly string[] Commands = ["/stats", "/ping", "/top", "/stats", "/me", "/ping"];
    private readonly PostgresDatabase _db = new();
    private readonly ScaledTimeProvider _ours = new(20);
    private readonly ScaledTimeProvider _theirs = new(20);
    private readonly PingCommand.Runs _runs = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;


    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync(_theirs);
        _api.Limits = new FakeLimits();
        _api.NetworkDelay = (TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(400));
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, services: s =>
        {
            s.AddSingleton<TimeProvider>(_ours);
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
    public async Task AFloodIsRecordedWhileItsAnswersQueueAndTelegramNeverHasToRefuseASend()
    {
        var chats = Enumerable.Range(0, Chats).Select(c => new FakeChat(-100_500_000 - c, $"Flood {c}")).ToList();
        var people = Enumerable.Range(0, Chats * PeoplePerChat).Select(p => new FakeUser(50_000 + p, $"P{p}")).ToList();
        var messageId = 0;
        var history = new List<string>();
        for (var i = 0; i < HistoryPerChat * Chats; i++)
        {
            var p = i % people.Count;
            history.Add(UpdateFactory.Message(chats[p / PeoplePerChat], ++messageId, people[p], UpdateFactory.BaseDate + i, $"history message {i} with a few words"));
        }
        _api.AddUpdates(history);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM messages") == history.Count, "the history to be recorded");

        // Everyone sends six commands at once.
        var flood = new List<string>();
        for (var round = 0; round < CommandsPerPerson; round++)
        {
            for (var p = 0; p < people.Count; p++)
            {
                flood.Add(UpdateFactory.Message(chats[p / PeoplePerChat], ++messageId, people[p], UpdateFactory.BaseDate + 10_000 + round, Commands[round]));
            }
        }
        _api.AddUpdates(flood);

        // Recorded in full, whatever the answers do: asserted on the count, and on answers still queued when it got there.
        var dispatcher = _bot.Get<UpdateDispatcher>();
        var sender = _bot.Get<ChatStats.Telegram.Sending.MessageSender>();
        var answersQueuedWhenRecorded = -1;
        await Eventually.TrueAsync(async () =>
        {
            var queued = dispatcher.Waiting + dispatcher.InFlight + sender.Waiting;
            if (await _db.ScalarAsync<long>("SELECT count(*) FROM messages") < history.Count + flood.Count)
            {
                return false;
            }
            answersQueuedWhenRecorded = queued;
            return true;
        }, "the flood to be recorded");
        Assert.True(answersQueuedWhenRecorded > 0, "recording finished only once the answers had gone: it waited for them");

        await Eventually.TrueAsync(() => dispatcher.Idle && sender.Waiting == 0, "the answers to go out or be given up", TimeSpan.FromMinutes(3));
        var sent = _api.Sent.ToList();
        output.WriteLine($"{sent.Count} sent ({sent.Count(s => s.Text.Contains("people asked", StringComparison.Ordinal))} answering several askers), "
            + $"{_api.TooManyRequests} refused, {answersQueuedWhenRecorded} answers queued when the flood was recorded, {_runs.ByPerson.Values.Sum(r => r.Count)} pings ran");

        // Telegram never had to refuse a send, and nothing was sent inside a flood wait.
        Assert.True(sent.Count > Chats, $"only {sent.Count} answers went out");
        Assert.Equal(0, _api.SendsInsideRetryWindow);
        Assert.True(_api.TooManyRequests <= sent.Count / 200, $"{_api.TooManyRequests} sends of {sent.Count} refused: {string.Join(", ", _api.LimitRefusals)}");
        foreach (var chat in sent.GroupBy(s => s.ChatId))
        {
            var times = chat.Select(s => s.At).Order().ToList();
            Assert.All(times, t => Assert.True(times.Count(u => u >= t && u < t + TimeSpan.FromMinutes(1)) <= 20, $"chat {chat.Key} got more than 20 messages in a minute"));
        }

        // Per-person limits held: nobody's /ping ran more often than the command limit allows in any minute.
        foreach (var (person, runs) in _runs.ByPerson)
        {
            var times = runs.Order().ToList();
            Assert.All(times, t => Assert.True(times.Count(u => u >= t && u < t + TimeSpan.FromMinutes(1)) <= 10, $"{person}'s command ran more than 10 times in a minute"));
        }
        // Identical chat-wide questions were answered once, saying how many asked.
        Assert.Contains(sent, s => s.Text.Contains("people asked for this", StringComparison.Ordinal));
    }

    /// <summary>A command that only notes who ran it and when (on the bot's clock), so handler runs can be counted.</summary>
    private sealed class PingCommand(PingCommand.Runs runs, TimeProvider clock) : IBotCommand
    {
        public string Name => "ping";
        public string DescriptionKey => "CommandHelp";

        public Task ExecuteAsync(CommandContext context, CancellationToken ct)
        {
            runs.ByPerson.GetOrAdd(context.Message.From!.Id, _ => []).Add(clock.GetUtcNow());
            return Task.CompletedTask;
        }

        public sealed class Runs
        {
            public ConcurrentDictionary<long, ConcurrentBag<DateTimeOffset>> ByPerson { get; } = new();
        }
    }
}
