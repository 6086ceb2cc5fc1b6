using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Telegram.Bot;

namespace ChatStats.Telegram.Tests.Receiving;

public sealed class LongPollerTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private static readonly FakeChat Group = new(-100, "g");
    private static readonly FakeUser Ann = new(1, "Ann");
    private readonly ManualTimeProvider _time = new();
    private readonly RecordingHandler _handler = new();
    private readonly CancellationTokenSource _stop = new();
    private FakeBotApi _api = null!;
    private UpdateSource _source = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeBotApi.StartAsync();
        _source = _api.CreateUpdateSource(pollTimeout: TimeSpan.FromSeconds(1));
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _api.DisposeAsync();
    }

    private LongPoller NewPoller(UpdateSource? source = null) =>
        new(source ?? _source, _handler, new LongPollerOptions { PollTimeout = TimeSpan.FromSeconds(1) }, _time, NullLogger<LongPoller>.Instance);

    [Fact]
    public async Task TheOffsetIsConfirmedOnlyAfterTheHandlerReturns()
    {
        var ids = _api.AddUpdates([UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate), UpdateFactory.Message(Group, 2, Ann, UpdateFactory.BaseDate)]);
        _handler.Gate = new TaskCompletionSource();
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => _handler.Batches.Count == 1, "the batch reaches the handler");
        // The poller is inside the handler, so it cannot be asking for (and so confirming) anything.
        var confirmedWhileHandling = _api.ConfirmedBelow;
        _handler.Gate.SetResult();
        await _api.WaitUntilConfirmedAsync(ids[^1], Patience);

        Assert.True(confirmedWhileHandling <= ids[0], "no update may be confirmed while its batch is being handled");
        Assert.Equal(ids[^1] + 1, poller.Offset);
        await _stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task AFailingHandlerGetsTheSameBatchAgainAfterABackoff()
    {
        var id = _api.AddUpdate(UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate));
        _handler.FailuresLeft = 2;
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => _handler.Attempts == 1 && poller.CurrentDelay is not null && _time.PendingTimers > 0, "first failure and backoff");
        Assert.Equal(PollerState.BackingOff, poller.State);
        Assert.True(_api.ConfirmedBelow <= id);
        // Exactly the delay the poller chose: a fixed step could also fire the next backoff inside the same advance.
        _time.Advance(poller.CurrentDelay!.Value);
        await Eventually.TrueAsync(() => _handler.Attempts == 2 && poller.CurrentDelay is not null && _time.PendingTimers > 0, "second failure and backoff");
        Assert.True(_api.ConfirmedBelow <= id);
        _time.Advance(poller.CurrentDelay!.Value);
        await _api.WaitUntilConfirmedAsync(id, Patience);

        Assert.Equal(3, _handler.Attempts);
        Assert.All(_handler.Batches, b => Assert.Equal([id], b.Updates.Select(u => u.UpdateId)));
        await _stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task AConflictIsReportedAndBacksOffInsteadOfHotLooping()
    {
        _api.FailNext("getUpdates", 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", times: 3);
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => poller.State == PollerState.Conflict && _time.PendingTimers > 0, "conflict backoff");
        // Blocked on the backoff timer of a clock that only the test moves: it cannot poll again until then.
        Assert.True(_time.PendingTimers > 0);
        Assert.InRange(poller.CurrentDelay!.Value, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(5));
        await _stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task ATooManyRequestsAnswerWaitsExactlyRetryAfter()
    {
        _api.FailNext("getUpdates", 429, "Too Many Requests: retry after 17", retryAfter: 17);
        var id = _api.AddUpdate(UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate));
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => poller.CurrentDelay is not null, "flood wait");
        Assert.Equal(TimeSpan.FromSeconds(17), poller.CurrentDelay);
        _time.Advance(TimeSpan.FromSeconds(16));
        Assert.True(_time.PendingTimers > 0, "the wait is not over after 16 of 17 seconds");
        Assert.Equal(PollerState.BackingOff, poller.State);
        Assert.Empty(_handler.Batches);
        _time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => _handler.Batches.Count == 1, "delivery after the wait");

        Assert.Equal(id, _handler.Batches[0].Updates.Single().UpdateId);
        await _stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task ARejectedTokenStopsPollingWithAClearError()
    {
        var poller = NewPoller(_api.CreateUpdateSource(token: "1:revoked"));

        var ex = await Assert.ThrowsAsync<BotUnauthorizedException>(() => poller.RunAsync(_stop.Token));

        Assert.Equal(PollerState.Unauthorized, poller.State);
        Assert.Contains("TELEGRAM_BOT_TOKEN", ex.Message);
    }

    [Fact]
    public async Task NetworkErrorsBackOffExponentiallyWithJitter()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        Assert.Equal(TimeSpan.FromSeconds(0.5), backoff.Delay(0, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Delay(0, 1));
        Assert.Equal(TimeSpan.FromSeconds(8), backoff.Delay(3, 1));
        Assert.Equal(TimeSpan.FromSeconds(60), backoff.Delay(20, 1));
        Assert.Equal(TimeSpan.FromSeconds(30), backoff.Delay(20, 0));

        _api.FailNext("getUpdates", 502, "Bad Gateway", times: 2);
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);
        await Eventually.TrueAsync(() => poller.State == PollerState.BackingOff && _time.PendingTimers > 0, "first backoff");
        Assert.InRange(poller.CurrentDelay!.Value, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => poller.CurrentDelay is { } d && d > TimeSpan.FromSeconds(0.99), "second, longer backoff");
        Assert.InRange(poller.CurrentDelay!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        await _stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task TwoPollersWithOneTokenMakeTelegramAnswer409()
    {
        var first = NewPoller();
        var second = NewPoller(_api.CreateUpdateSource(pollTimeout: TimeSpan.FromSeconds(1)));
        var a = first.RunAsync(_stop.Token);
        var b = second.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => first.State == PollerState.Conflict || second.State == PollerState.Conflict, "one of them sees 409");

        Assert.True(_api.ConflictsAnswered >= 1);
        await _stop.CancelAsync();
        await Task.WhenAll(a, b);
    }

    [Fact]
    public async Task TheBatchReachesTheInboxAsTelegramSentItWithTheUpdateTypesAskedForExplicitly()
    {
        var ids = _api.AddUpdates([UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate, "héllo \"quoted\" 🦄"), """{"future_kind":{"x":1}}"""]);
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => _handler.Batches.Count == 1, "the batch reaches the inbox");

        Assert.Equal("héllo \"quoted\" 🦄", _handler.Batches[0].Updates[0].Read().Update!.Message!.Text);
        Assert.Contains("future_kind", System.Text.Encoding.UTF8.GetString(_handler.Batches[0].Json.Span));
        Assert.Equal(ids, _handler.Batches[0].Updates.Select(u => u.UpdateId));
        Assert.Equal("[\"message\",\"edited_message\",\"channel_post\",\"edited_channel_post\",\"callback_query\",\"my_chat_member\",\"chat_member\",\"message_reaction\"]",
            _api.LastAllowedUpdates);
        await _stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task AWebhookLeftSetIsReportedAsAConflictNotAHotLoop()
    {
        await _api.CreateClient().SetWebhook("https://example.org/hook");
        var poller = NewPoller();
        var run = poller.RunAsync(_stop.Token);

        await Eventually.TrueAsync(() => poller.State == PollerState.Conflict && _time.PendingTimers > 0, "conflict backoff");

        Assert.Equal(1, _api.GetUpdatesCalls);
        await _stop.CancelAsync();
        await run;
    }

    private sealed class RecordingHandler : IUpdateInbox
    {
        private int _attempts;
        public List<UpdateBatch> Batches { get; } = [];
        public TaskCompletionSource? Gate { get; set; }
        public int FailuresLeft { get; set; }
        public int Attempts => Volatile.Read(ref _attempts);

        public Task StoreUnreadableAsync(ReadOnlyMemory<byte> body, string reason, CancellationToken ct) => Task.CompletedTask;

        public async Task StoreAsync(UpdateBatch updates, CancellationToken ct)
        {
            lock (Batches)
            {
                Batches.Add(updates);
            }
            Interlocked.Increment(ref _attempts);
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(ct);
            }
            if (FailuresLeft-- > 0)
            {
                throw new InvalidOperationException("database is down");
            }
        }
    }
}
