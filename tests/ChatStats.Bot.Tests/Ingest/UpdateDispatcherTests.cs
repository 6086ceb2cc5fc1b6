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

    private static Update Command(long chatId, int messageId)
    {
        var json = UpdateFactory.Message(new FakeChat(chatId, "c"), messageId, new FakeUser(1, "A"), UpdateFactory.BaseDate, "/stats");
        return JsonSerializer.Deserialize<Update>("{\"update_id\":" + Interlocked.Increment(ref _ids) + "," + json[1..], JsonBotAPI.Options)!;
    }

    private readonly ManualTimeProvider _time = new();

    private UpdateDispatcher Dispatcher(GatedHandler handler, int capacity, int perChat = 20)
    {
        var services = new ServiceCollection().AddScoped<IUpdateHandler>(_ => handler).BuildServiceProvider();
        return new UpdateDispatcher(services.GetRequiredService<IServiceScopeFactory>(),
            Options.Create(new IngestOptions { MaxConcurrentUpdates = capacity, MaxQueuedPerChat = perChat, MaxDispatchWaitSeconds = 5 }),
            _time, NullLogger<UpdateDispatcher>.Instance);
    }

    [Fact]
    public async Task OneChatsUpdatesRunOneAtATimeInOrderWhileOtherChatsRunAlongside()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10);

        await dispatcher.EnqueueAsync(Command(-1, 1), CancellationToken.None);
        await dispatcher.EnqueueAsync(Command(-1, 2), CancellationToken.None);
        await dispatcher.EnqueueAsync(Command(-2, 1), CancellationToken.None);
        await handler.WaitForRunningAsync(2);

        Assert.Equal(["-1:1", "-2:1"], handler.Running.Order());
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["-1:1", "-1:2"], handler.Completed.Where(c => c.StartsWith("-1:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhenHandlersAreSaturatedRecordingWaitsThenTheirAnswersAreShed()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 2);
        Assert.True(await dispatcher.EnqueueAsync(Command(-1, 1), CancellationToken.None));
        Assert.True(await dispatcher.EnqueueAsync(Command(-2, 1), CancellationToken.None));
        await handler.WaitForRunningAsync(2);
        // Waiting work does not hold a running slot: two more are accepted and wait their turn.
        Assert.True(await dispatcher.EnqueueAsync(Command(-3, 1), CancellationToken.None));
        Assert.True(await dispatcher.EnqueueAsync(Command(-4, 1), CancellationToken.None));

        var fifth = dispatcher.EnqueueAsync(Command(-5, 1), CancellationToken.None).AsTask();
        // It waits on a deadline of the manual clock: nothing can complete it before the advance below.
        Assert.False(fifth.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.False(await fifth.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((2, 2), (dispatcher.InFlight, dispatcher.Waiting));
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((0, 0), (dispatcher.InFlight, dispatcher.Waiting));
        Assert.Equal(4, handler.Completed.Count);
    }

    [Fact]
    public async Task AFloodingChatCanQueueOnlyItsShareAndTheOthersStillRun()
    {
        var handler = new GatedHandler();
        await using var dispatcher = Dispatcher(handler, capacity: 10, perChat: 3);

        var accepted = new List<bool>();
        for (var i = 1; i <= 6; i++)
        {
            accepted.Add(await dispatcher.EnqueueAsync(Command(-1, i), CancellationToken.None));
        }
        Assert.True(await dispatcher.EnqueueAsync(Command(-2, 1), CancellationToken.None));
        await handler.WaitForRunningAsync(2);

        Assert.Equal([true, true, true, false, false, false], accepted);
        handler.ReleaseAll();
        await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, handler.Completed.Count);
    }

    private sealed class GatedHandler : IUpdateHandler
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
        private volatile bool _open;

        public ConcurrentBag<string> Running { get; } = [];
        public ConcurrentQueue<string> Completed { get; } = new();

        public async Task HandleAsync(Update update, CancellationToken ct)
        {
            var key = $"{update.ChatId()}:{update.Message!.MessageId}";
            Running.Add(key);
            if (!_open)
            {
                await _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            Completed.Enqueue(key);
        }

        public void Release(string key) => _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

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
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (Running.Count < count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
            Assert.Equal(count, Running.Count);
        }
    }
}
