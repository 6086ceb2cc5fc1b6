using Microsoft.Extensions.Logging;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Telegram.Receiving;

public enum PollerState
{
    NotStarted,
    Polling,
    Handling,
    BackingOff,
    Conflict,
    Unauthorized,
    Stopped,

    /// <summary>Not polling because another instance of the deployment does; ready to take over (set by whoever elects the poller).</summary>
    Standby,
}

public sealed record LongPollerOptions
{
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int Limit { get; init; } = 100;

    /// <summary>Explicit, because Telegram otherwise keeps whatever list the last caller set (and omits chat_member and reactions).</summary>
    public IReadOnlyList<UpdateType> AllowedUpdates { get; init; } = DefaultAllowedUpdates;

    public Backoff ErrorBackoff { get; init; } = Backoff.Default;

    /// <summary>How long to wait after a 409 before polling again: another instance holds the updates.</summary>
    public Backoff ConflictBackoff { get; init; } = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));

    /// <summary>How long to wait before retrying a batch the inbox could not store (the database is down, say).</summary>
    public Backoff HandlerBackoff { get; init; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));

    public static readonly IReadOnlyList<UpdateType> DefaultAllowedUpdates =
    [
        UpdateType.Message, UpdateType.EditedMessage, UpdateType.ChannelPost, UpdateType.EditedChannelPost, UpdateType.CallbackQuery,
        UpdateType.MyChatMember, UpdateType.ChatMember, UpdateType.MessageReaction,
    ];
}

/// <summary>Thrown when Telegram rejects the token: polling cannot continue until the operator fixes it.</summary>
public sealed class BotUnauthorizedException(string message) : Exception(message);

/// <summary>
/// Lossless long polling, where Telegram.Bot's own receiving is not: its <c>ReceiveAsync</c> moves the offset before the
/// handler runs, skips an update whose handler threw, and fails a whole batch over one update it cannot read. Here one
/// getUpdates (<see cref="UpdateSource"/>) is in flight at a time, the batch goes to the <see cref="IUpdateInbox"/> as
/// raw bytes, and the offset is
/// confirmed (by asking for the next one) only after the inbox has stored it: a crash or a failing database re-delivers
/// the batch instead of losing it.
/// </summary>
public sealed class LongPoller(UpdateSource source, IUpdateInbox inbox, LongPollerOptions options, TimeProvider time, ILogger<LongPoller> logger)
{
    private volatile PollerState _state = PollerState.NotStarted;
    private long _lastSuccessTicks;
    private int _handlerFailures;

    public PollerState State => _state;

    /// <summary>When getUpdates last answered, or null before the first answer.</summary>
    public DateTimeOffset? LastPollAt => Interlocked.Read(ref _lastSuccessTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>The next offset to ask for; everything below it is confirmed.</summary>
    public long? Offset { get; private set; }

    /// <summary>How many times in a row the inbox has failed to store the current batch (0 once it succeeds).</summary>
    public int HandlerFailures => Volatile.Read(ref _handlerFailures);

    /// <summary>The delay the poller is currently waiting out, for health pages and tests.</summary>
    public TimeSpan? CurrentDelay { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        var errors = 0;
        var conflicts = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                UpdateBatch batch;
                var polled = time.GetTimestamp();
                try
                {
                    _state = PollerState.Polling;
                    batch = await source.GetUpdatesAsync(Offset, options.Limit, options.PollTimeout, options.AllowedUpdates, ct).ConfigureAwait(false);
                    Interlocked.Exchange(ref _lastSuccessTicks, time.GetUtcNow().UtcTicks);
                    errors = 0;
                    conflicts = 0;
                }
                catch (RequestException ex) when (ex.IsUnauthorized())
                {
                    TelegramMetrics.PollErrors.Add(1, new KeyValuePair<string, object?>("code", ex.Code()));
                    _state = PollerState.Unauthorized;
                    throw new BotUnauthorizedException(
                        $"Telegram rejected the bot token ({ex.Code()} {ex.Message}). Check Telegram:BotToken / TELEGRAM_BOT_TOKEN; @BotFather's /token shows the current one.");
                }
                catch (RequestException ex) when (ex.Code() == 409)
                {
                    TelegramMetrics.PollErrors.Add(1, new KeyValuePair<string, object?>("code", 409));
                    var delay = options.ConflictBackoff.Delay(conflicts++);
                    logger.LogWarning("Another instance is polling with this token, or a webhook is set (409 {Description}); backing off {Delay}", ex.Message, delay);
                    await WaitAsync(PollerState.Conflict, delay, ct).ConfigureAwait(false);
                    continue;
                }
                catch (RequestException ex) when (ex.RetryAfter() is { } retryAfter)
                {
                    TelegramMetrics.PollErrors.Add(1, new KeyValuePair<string, object?>("code", 429));
                    logger.LogWarning("getUpdates flood-limited; waiting {Delay} as Telegram asked", retryAfter);
                    await WaitAsync(PollerState.BackingOff, retryAfter, ct).ConfigureAwait(false);
                    continue;
                }
                catch (RequestException ex)
                {
                    TelegramMetrics.PollErrors.Add(1, new KeyValuePair<string, object?>("code", ex.Code()));
                    var delay = options.ErrorBackoff.Delay(errors++);
                    logger.LogWarning("getUpdates failed ({ErrorCode} {Description}); retrying in {Delay}", ex.Code(), ex.Message, delay);
                    await WaitAsync(PollerState.BackingOff, delay, ct).ConfigureAwait(false);
                    continue;
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                TelegramMetrics.PollDuration.Record(time.GetElapsedTime(polled).TotalSeconds);
                TelegramMetrics.UpdatesReceived.Add(batch.Count);
                TelegramMetrics.BatchSize.Record(batch.Count);
                var handling = time.GetTimestamp();
                await StoreUntilDurableAsync(batch, ct).ConfigureAwait(false);
                TelegramMetrics.HandleDuration.Record(time.GetElapsedTime(handling).TotalSeconds);
                Offset = batch.Updates.Max(u => u.UpdateId) + 1;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: the current batch, if any, stays unconfirmed and is delivered again next start.
        }
        finally
        {
            if (_state != PollerState.Unauthorized)
            {
                _state = PollerState.Stopped;
            }
        }
    }

    private async Task StoreUntilDurableAsync(UpdateBatch batch, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                _state = PollerState.Handling;
                await inbox.StoreAsync(batch, ct).ConfigureAwait(false);
                Volatile.Write(ref _handlerFailures, 0);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _handlerFailures);
                var delay = options.HandlerBackoff.Delay(attempt);
                // The stack trace once; while the outage lasts, one line per retry is enough.
                if (attempt == 0)
                {
                    logger.LogError(ex, "Could not store a batch of {Count} updates; the offset stays unconfirmed, retrying in {Delay}", batch.Count, delay);
                }
                else
                {
                    logger.LogWarning("Still cannot store a batch of {Count} updates (attempt {Attempt}: {Error}); retrying in {Delay}",
                        batch.Count, attempt + 1, ex.Message, delay);
                }
                await WaitAsync(PollerState.BackingOff, delay, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitAsync(PollerState state, TimeSpan delay, CancellationToken ct)
    {
        _state = state;
        CurrentDelay = delay;
        try
        {
            await Task.Delay(delay, time, ct).ConfigureAwait(false);
        }
        finally
        {
            CurrentDelay = null;
        }
    }
}
