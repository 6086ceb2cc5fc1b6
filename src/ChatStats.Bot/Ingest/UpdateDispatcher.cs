using System.Diagnostics;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Runs handlers for updates that need an answer: up to <see cref="IngestOptions.MaxConcurrentUpdates"/> at once, one at
/// a time within a chat, in arrival order. Only running handlers hold a slot, so a chat whose replies wait on Telegram's
/// limits cannot starve the others. Waiting work is bounded twice: per chat (<see cref="IngestOptions.MaxQueuedPerChat"/>,
/// beyond which that chat's extra work is shed) and overall (as many waiting as running), where
/// <see cref="EnqueueAsync"/> holds recording back for up to <see cref="IngestOptions.MaxDispatchWaitSeconds"/> and then
/// sheds: the updates themselves are already recorded, only their answers are given up.
/// </summary>
internal sealed class UpdateDispatcher : IAsyncDisposable
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new(IngestMetrics.MeterName + ".Dispatch");
    private static readonly System.Diagnostics.Metrics.Counter<long> Shed = Meter.CreateCounter<long>("chatstats.dispatch.shed", "{update}", "Updates whose handling was given up (they are recorded), by reason.");
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _buffer;
    private readonly int _maxQueuedPerChat;
    private readonly TimeSpan _maxWait;
    private readonly Dictionary<long, ChatQueue> _chats = [];
    private readonly Lock _lock = new();
    private readonly IServiceScopeFactory _scopes;
    private readonly TimeProvider _time;
    private readonly ILogger<UpdateDispatcher> _logger;
    private readonly int _capacity;

    public UpdateDispatcher(IServiceScopeFactory scopes, IOptions<IngestOptions> options, TimeProvider time, ILogger<UpdateDispatcher> logger)
    {
        _scopes = scopes;
        _time = time;
        _logger = logger;
        _capacity = options.Value.MaxConcurrentUpdates;
        _slots = new SemaphoreSlim(_capacity, _capacity);
        _buffer = new SemaphoreSlim(_capacity, _capacity);
        _maxQueuedPerChat = options.Value.MaxQueuedPerChat;
        _maxWait = TimeSpan.FromSeconds(options.Value.MaxDispatchWaitSeconds);
    }

    private sealed class ChatQueue
    {
        public Task Tail = Task.CompletedTask;
        public int Pending;
    }

    /// <summary>Handlers running now.</summary>
    public int InFlight => _capacity - _slots.CurrentCount;

    /// <summary>Updates accepted and waiting for their turn.</summary>
    public int Waiting => _capacity - _buffer.CurrentCount;

    public static bool NeedsHandler(Update update) => update switch
    {
        { Message: { } m } => CommandParser.LooksLikeCommand(m),
        { MyChatMember: not null } => true,
        _ => false,
    };

    /// <summary>Accepts an update for handling; false when its handling was shed (the update itself is recorded).</summary>
    public async ValueTask<bool> EnqueueAsync(Update update, CancellationToken ct)
    {
        // Updates without a chat have no order to keep; give each its own lane.
        var key = update.ChatId() ?? long.MinValue + update.Id;
        lock (_lock)
        {
            if (_chats.TryGetValue(key, out var busy) && busy.Pending >= _maxQueuedPerChat)
            {
                return ShedOne(update, "chat_queue_full");
            }
        }
        // Backpressure: recording waits a little for room, then gives up this update's answer rather than stall.
        if (!_buffer.Wait(0, CancellationToken.None))
        {
            using var deadline = new CancellationTokenSource(_maxWait, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
            try
            {
                await _buffer.WaitAsync(linked.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return ShedOne(update, "saturated");
            }
        }
        lock (_lock)
        {
            if (!_chats.TryGetValue(key, out var queue))
            {
                queue = new ChatQueue();
                _chats[key] = queue;
            }
            queue.Pending++;
            queue.Tail = RunAfterAsync(queue.Tail, update, key, queue);
        }
        return true;
    }

    private bool ShedOne(Update update, string reason)
    {
        Shed.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _logger.LogWarning("Not answering update {UpdateId} in chat {ChatId}: {Reason}", update.Id, update.ChatId(), reason);
        return false;
    }

    private async Task RunAfterAsync(Task previous, Update update, long key, ChatQueue queue)
    {
        var holdsSlot = false;
        try
        {
            await previous.ConfigureAwait(false);
            await Task.Yield();
            // Its turn in the chat has come: from waiting to running.
            await _slots.WaitAsync().ConfigureAwait(false);
            holdsSlot = true;
            _buffer.Release();
            var started = _time.GetTimestamp();
            await using var scope = _scopes.CreateAsyncScope();
            var handler = scope.ServiceProvider.GetRequiredService<IUpdateHandler>();
            await handler.HandleAsync(update, CancellationToken.None).ConfigureAwait(false);
            IngestMetrics.HandlerDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
        catch (Exception ex)
        {
            IngestMetrics.UpdatesFailed.Add(1, new KeyValuePair<string, object?>("stage", "handler"));
            _logger.LogError(ex, "Handler for update {UpdateId} in chat {ChatId} failed; dead-lettering it", update.Id, update.ChatId());
            await DeadLetterAsync(update, ex).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                if (--queue.Pending == 0)
                {
                    _chats.Remove(key);
                }
            }
            if (holdsSlot)
            {
                _slots.Release();
            }
            else
            {
                _buffer.Release();
            }
        }
    }

    private async Task DeadLetterAsync(Update update, Exception ex)
    {
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var writer = scope.ServiceProvider.GetRequiredService<IngestWriter>();
            await writer.WriteDeadLettersAsync([IngestBatchProcessor.DeadLetterFor(update, ex)], CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception inner)
        {
            _logger.LogError(inner, "Could not dead-letter update {UpdateId}", update.Id);
        }
    }

    /// <summary>Waits for running handlers to finish, up to <paramref name="timeout"/>.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Task[] tails;
        lock (_lock)
        {
            tails = [.. _chats.Values.Select(q => q.Tail)];
        }
        try
        {
            // A shutdown grace period is wall-clock time (it mirrors the process manager's stop timeout).
            await Task.WhenAll(tails).WaitAsync(timeout, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("{Count} chats still had handlers running after {Timeout}; stopping anyway", tails.Length, timeout);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _slots.Dispose();
        _buffer.Dispose();
    }
}
