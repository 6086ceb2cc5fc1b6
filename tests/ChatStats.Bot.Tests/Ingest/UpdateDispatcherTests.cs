using System.Collections.Concurrent;
using System.Text.Json;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Telegram;
using Telegram.Bot;
using Telegram.Bot.Types;
using ChatStats.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Tests.Ingest;

public sealed class UpdateDispatcherTests
{
    private static long _ids;

    private static Update Command(long chatId, int messageId, long person = 1, string text = "/me")
    {
        var json = UpdateFactory.Message(new FakeChat(chatId, "c"), messageId, new FakeUser(person, "A"), UpdateFactory.BaseDate, text);
        return JsonSerializer.Deserialize<Update>("{\"update_id\":" + Interlocked.Increment(ref _ids) + "," + json[1..], JsonBotAPI.Options)!;
    }

    private static Update BotRemoved(long chatId)
    {
        var json = UpdateFactory.MyChatMember(new FakeChat(chatId, "c"), new FakeUser(1, "A"), UpdateFactory.BaseDate, "member", "kicked");
        return JsonSerializer.Deserialize<Update>("{\"update_id\":" + Interlocked.Increment(ref _ids) + "," + json[1..], JsonBotAPI.Options)!;
    }

    private static UpdateDispatcher Dispatcher(GatedHandler handler, int capacity, int perChat = 20, int waiting = 1000, InboxSignal? inbox = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection().AddScoped<IUpdateHandler>(_ => handler).BuildServiceProvider();
        return new UpdateDispatcher(services.GetRequiredService<IServiceScopeFactory>(), new CommandText(),
            Options.Create(new IngestOptions { MaxConcurrentUpdates = capacity, MaxQueuedPerChat = perChat, MaxWaitingAnswers = waiting, ProcessBatchSize = 1000 }),
            time ?? TimeProvider.System, NullLogger<UpdateDispatcher>.Instance, inbox: inbox);
    }

    /// <summary>Twelve seconds of 5,000 updates a second, each recorded as it came.</summary>
    private static void SteadyStream(InboxSignal inbox, ManualTimeProvider time)
    {
        for (var second = 0; second < 12; second++)
        {
            inbox.Added(5_000);
            inbox.Processed(5_000);
            time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task AnswersGiveWayToRecordingWhileAFloodIsComingInButNotForLong()
    {
        var time = new ManualTimeProvider();
        using var inbox = new InboxSignal(time);
        var handler = new GatedHandler();
        handler.ReleaseAll();
        await using var dispatcher = Dispatcher(handler, capacity: 10, inbox: inbox, time: time);
        // Five chunks' worth just stored and not yet recorded.
        inbox.Added(5_000);

        dispatcher.Enqueue(Command(-1, 1));
        // Parked on the dispatcher's clock, the only thing that can let it go: the handler has not started.
        await Eventually.TrueAsync(() => Task.FromResult(time.PendingTimers > 0), "the answer to wait for recording");
        Assert.Empty(handler.Running);

        // Recording stays behind: the answer goes all the same once it has waited MaxYield.
        for (var waited = TimeSpan.Zero; waited <= UpdateDispatcher.MaxYield && handler.Running.IsEmpty; waited += TimeSpan.FromMilliseconds(50))
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Yield();
        }
        await handler.WaitForRunningAsync(1);
    }

    [Fact]
    public async Task ASteadyStreamIsAnsweredAtOnceHoweverFastAndASurgeWaitsForItsRecording()
    {
        var time = new ManualTimeProvider();
        using var inbox = new InboxSignal(time);
        var handler = new GatedHandler();
        handler.ReleaseAll();
        await using var dispatcher = Dispatcher(handler, capacity: 10, inbox: inbox, time: time);
        // Twelve seconds of a steady 5,000 updates a second, each recorded as it came: no backlog, no surge.
        SteadyStream(inbox, time);
        inbox.Added(5_000);
        inbox.Processed(5_000);

        dispatcher.Enqueue(Command(-1, 1));
        // Started without the clock moving at all.
        await handler.WaitForRunningAsync(1);

        // Then a surge, recorded as fast as it came (no backlog): three times the steady rate in a second.
        time.Advance(TimeSpan.FromSeconds(1));
        inbox.Added(15_000);
        inbox.Processed(15_000);
        dispatcher.Enqueue(Command(-2, 1));
        await Eventually.TrueAsync(() => Task.FromResult(time.PendingTimers > 0), "the answer to wait for the surge");
        Assert.Single(handler.Running);
        for (var waited = TimeSpan.Zero; waited <= UpdateDispatcher.MaxYield && handler.Running.Count < 2; waited += TimeSpan.FromMilliseconds(50))
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Yield();
        }
        await handler.WaitForRunningAsync(2);
    }

    [Fact]
    public async Task ABacklogRecordingClearsWithinASecondHoldsNoAnswerAndOneItDoesNotClearDoes()
    {
        var time = new ManualTimeProvider();
        using var inbox = new InboxSignal(time);
        var handler = new GatedHandler();
        handler.ReleaseAll();
        await using var dispatcher = Dispatcher(handler, capacity: 10, inbox: inbox, time: time);
        // Recording has kept up with 5,000 updates a second for a while.
        SteadyStream(inbox, time);
        // Three chunks wait, as the inbox's count says between two chunks of a steady stream: less than a second's work.
        inbox.Set(3_000);
        dispatcher.Enqueue(Command(-1, 1));
        await handler.WaitForRunningAsync(1);

        // Twelve thousand wait: more than recording does in a second, so the next answer lets it catch up first.
        inbox.Set(12_000);
        dispatcher.Enqueue(Command(-2, 1));
        await Eventually.TrueAsync(() => Task.FromResult(time.PendingTimers > 0), "the answer to wait for recording");
        Assert.Single(handler.Running);
        // Recording catches up to less than a second's worth: the answer goes at its next look, long before MaxYield.
        inbox.Processed(8_000);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await handler.WaitForRunningAsync(2);
    }

    [Fact]
    public async Task OneChatsUpdatesRunOneAtATimeInOrderWhileOtherChatsRunAlongside()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10);

        dispatcher.Enqueue(Command(-1, 1));
        dispatcher.Enqueue(Command(-1, 2));
        dispatcher.Enqueue(Command(-2, 1));
        await handler.WaitForRunningAsync(2);

        Assert.Equal(["-1:1", "-2:1"], handler.Running.Order());
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["-1:1", "-1:2"], handler.Completed.Where(c => c.StartsWith("-1:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhenTheWaitingRoomIsFullTheNewcomersAnswerIsGivenUpAtOnceAndNothingWaits()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 2, waiting: 2);
        Assert.True(dispatcher.Enqueue(Command(-1, 1, person: 1)));
        Assert.True(dispatcher.Enqueue(Command(-2, 1, person: 2)));
        await handler.WaitForRunningAsync(2);
        // Waiting work does not hold a running slot: two more are accepted and wait their turn.
        Assert.True(dispatcher.Enqueue(Command(-1, 2, person: 3)));
        Assert.True(dispatcher.Enqueue(Command(-2, 2, person: 4)));

        // Full, and everyone waiting asked once: the fifth is refused on the spot (Enqueue is synchronous: it cannot wait).
        Assert.False(dispatcher.Enqueue(Command(-3, 1, person: 5)));
        Assert.Equal((2, 2), (dispatcher.InFlight, dispatcher.Waiting));
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((0, 0), (dispatcher.InFlight, dispatcher.Waiting));
        Assert.Equal(["-1:1", "-1:2", "-2:1", "-2:2"], handler.Completed.Order());
    }

    [Fact]
    public async Task WhenRoomIsShortAPersonsOlderQuestionMakesWayForTheirNewestAndForOthers()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10, perChat: 3);
        dispatcher.Enqueue(Command(-1, 1, person: 9));
        await handler.WaitForRunningAsync(1);
        // Person 1 asks twice, person 2 once: the lane is full.
        dispatcher.Enqueue(Command(-1, 2, person: 1, text: "/me"));
        dispatcher.Enqueue(Command(-1, 3, person: 2, text: "/me"));
        dispatcher.Enqueue(Command(-1, 4, person: 1, text: "/me 7d"));

        // Person 3 arrives: person 1's older question goes, not person 3's only one.
        Assert.True(dispatcher.Enqueue(Command(-1, 5, person: 3)));
        // Person 2 asks again: their own older question is superseded by the newer.
        Assert.True(dispatcher.Enqueue(Command(-1, 6, person: 2)));
        // Everyone waiting has asked once: a newcomer waits for nobody.
        Assert.False(dispatcher.Enqueue(Command(-1, 7, person: 4)));

        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["-1:1", "-1:4", "-1:5", "-1:6"], handler.Completed);
    }

    [Fact]
    public async Task TheBotBeingRemovedIsNeverGivenUp()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10, perChat: 2);
        dispatcher.Enqueue(Command(-1, 1, person: 1));
        await handler.WaitForRunningAsync(1);
        dispatcher.Enqueue(BotRemoved(-1));
        dispatcher.Enqueue(Command(-1, 2, person: 1));

        // Full: the person's older question (running) is not waiting; the membership change is kept, so the newcomer goes.
        Assert.False(dispatcher.Enqueue(Command(-1, 3, person: 2)));
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["-1:1", "-1:member", "-1:2"], handler.Completed);
    }

    [Fact]
    public async Task IdenticalChatWideQuestionsWaitingInAChatAreAnsweredOnceWithEveryAsker()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10, perChat: 4);
        dispatcher.Enqueue(Command(-1, 1, person: 1, text: "/stats"));
        await handler.WaitForRunningAsync(1);
        // While the first answer is on its way, five people ask the same thing, spelled a little differently.
        dispatcher.Enqueue(Command(-1, 2, person: 2, text: "/stats 7d"));
        dispatcher.Enqueue(Command(-1, 3, person: 3, text: "/me 7d"));
        dispatcher.Enqueue(Command(-1, 4, person: 4, text: "/stats  7D"));
        dispatcher.Enqueue(Command(-1, 5, person: 5, text: "/stats 7d"));
        dispatcher.Enqueue(Command(-1, 6, person: 6, text: "/me 7d"));
        dispatcher.Enqueue(Command(-1, 7, person: 7, text: "/stats 30d"));
        Assert.Equal(4, dispatcher.Waiting);

        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        // Per-person answers are never merged; the three /stats 7d are one run that knows all its askers.
        Assert.Equal(["-1:1", "-1:5", "-1:3", "-1:6", "-1:7"], handler.Completed);
        Assert.Equal([2, 4, 5], handler.Askers["-1:5"]);
    }

    [Fact]
    public async Task AQuestionSeveralPeopleAskedIsNotGivenUpWhenItsFirstAskerAsksSomethingElse()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10, perChat: 2);
        dispatcher.Enqueue(Command(-1, 1, person: 9));
        await handler.WaitForRunningAsync(1);
        dispatcher.Enqueue(Command(-1, 2, person: 1, text: "/stats"));
        dispatcher.Enqueue(Command(-1, 3, person: 2, text: "/stats"));
        dispatcher.Enqueue(Command(-1, 4, person: 3, text: "/me"));

        // Person 1 asks again: their /stats is everyone's now, so it stays and the newcomer waits for nobody.
        Assert.False(dispatcher.Enqueue(Command(-1, 5, person: 1, text: "/me")));
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["-1:1", "-1:3", "-1:4"], handler.Completed);
    }

    /// <summary>The command-line part of the real keys: /stats is chat-wide, /me is not.</summary>
    private sealed class CommandText : IQuestionKeys
    {
        public string? KeyOf(Update update) =>
            CommandParser.Parse(update.Message?.Text, null) is { Name: "stats" } parsed ? "stats\n" + string.Join(' ', parsed.Arguments.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries)) : null;
    }

    private sealed class GatedHandler : IUpdateHandler
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
        private volatile bool _open;

        public ConcurrentBag<string> Running { get; } = [];
        public ConcurrentQueue<string> Completed { get; } = new();
        public ConcurrentDictionary<string, long[]> Askers { get; } = new();

        public async Task HandleAsync(IReadOnlyList<Update> updates, CancellationToken ct)
        {
            var update = updates[^1];
            var key = $"{update.ChatId()}:{update.Message?.MessageId.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "member"}";
            Askers[key] = [.. updates.Select(u => u.Message?.From?.Id ?? 0)];
            Running.Add(key);
            if (!_open)
            {
                await _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            Completed.Enqueue(key);
        }

        public void ReleaseAll()
        {
            _open = true;
            foreach (var gate in _gates.Values)
            {
                gate.TrySetResult();
            }
        }

        public async Task WaitForRunningAsync(int count)
        {
            await Eventually.TrueAsync(() => Running.Count >= count, () => $"{count} handlers running, {Running.Count} are");
            Assert.Equal(count, Running.Count);
        }
    }
}
