using System.Diagnostics;
using ChatStats.Bot.Commands;
using ChatStats.Telegram.Types;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Runs handlers for updates that need an answer: concurrently up to <see cref="IngestOptions.MaxConcurrentUpdates"/>,
/// one at a time within a chat, in arrival order. When every slot is busy <see cref="EnqueueAsync"/> waits, which
/// holds the poller back instead of buffering without bound.
/// </summary>
internal sealed class UpdateDispatcher : IAsyncDisposable
{
    private readonly SemaphoreSlim _slots;
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
    }

    private sealed class ChatQueue
    {
        public Task Tail = Task.CompletedTask;
        public int Pending;
    }

    public int InFlight => _capacity - _slots.CurrentCount;

    public static bool NeedsHandler(Update update) => update switch
    {
        { Message: { } m } => CommandParser.LooksLikeCommand(m),
        { MyChatMember: not null } => true,
        _ => false,
    };

    public async ValueTask EnqueueAsync(Update update, CancellationToken ct)
    {
        await _slots.WaitAsync(ct);
        // Updates without a chat have no order to keep; give each its own lane.
        var key = update.ChatId ?? long.MinValue + update.UpdateId;
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
    }

    private async Task RunAfterAsync(Task previous, Update update, long key, ChatQueue queue)
    {
        try
        {
            await previous.ConfigureAwait(false);
            await Task.Yield();
            var started = _time.GetTimestamp();
            await using var scope = _scopes.CreateAsyncScope();
            var handler = scope.ServiceProvider.GetRequiredService<IUpdateHandler>();
            await handler.HandleAsync(update, CancellationToken.None).ConfigureAwait(false);
            IngestMetrics.HandlerDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
        catch (Exception ex)
        {
            IngestMetrics.UpdatesFailed.Add(1, new KeyValuePair<string, object?>("stage", "handler"));
            _logger.LogError(ex, "Handler for update {UpdateId} in chat {ChatId} failed; dead-lettering it", update.UpdateId, update.ChatId);
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
            _slots.Release();
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
            _logger.LogError(inner, "Could not dead-letter update {UpdateId}", update.UpdateId);
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
    }
}
