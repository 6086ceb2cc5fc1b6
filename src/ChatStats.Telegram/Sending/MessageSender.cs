using System.Threading.RateLimiting;
using ChatStats.Throttling.Concurrency;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Telegram.Sending;

/// <summary>An outgoing text message; <see cref="Text"/> is already escaped for <see cref="ParseMode"/>.</summary>
public sealed record OutgoingMessage
{
    public required long ChatId { get; init; }
    public required string Text { get; init; }
    public ParseMode ParseMode { get; init; } = ParseMode.Html;
    public int? MessageThreadId { get; init; }
    public int? ReplyToMessageId { get; init; }

    /// <summary>Command replies go before bulk sends (digests, reports) whenever both wait for the same limits.</summary>
    public SendPriority Priority { get; init; } = SendPriority.Reply;
}

public enum SendPriority
{
    Reply,
    Bulk,
}

public sealed record MessageSenderOptions
{
    public int MaxAttempts { get; init; } = 5;
    public Backoff ErrorBackoff { get; init; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>A flood wait longer than this is not waited out by a send: it fails (a job retries later), and the chat stays held.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A reply that could not be sent within this long is dropped (and counted) rather than sent stale.</summary>
    public TimeSpan MaxReplyAge { get; init; } = TimeSpan.FromSeconds(120);

    // Telegram counts a send when it arrives, which our clock cannot see: every lease is held while its request is on
    // the way and disposed when Telegram has answered, so a limiter that starts a permit's window at disposal keeps the
    // limit at Telegram's end whatever the network does (ChatStats.Throttling's ArrivalWindowLimiter). A send costs one
    // permit, more in a chat that drew a 429 recently.

    /// <summary>Per chat (about one a second, with a short burst). Null: no limit of ours.</summary>
    public PartitionedRateLimiter<long>? PerChat { get; init; }

    /// <summary>Per group or supergroup (20 a minute); private chats are not counted here.</summary>
    public PartitionedRateLimiter<long>? PerGroup { get; init; }

    /// <summary>Everything the bot sends (30 a second); keyed by 0.</summary>
    public PartitionedRateLimiter<long>? Global { get; init; }

    /// <summary>
    /// A 429 proves our model of that chat too generous: each one doubles what a send to it costs in its chat and group
    /// windows, up to this factor (4: a group's 20 a minute becomes 5)...
    /// </summary>
    public int MaxPenalty { get; init; } = 4;

    /// <summary>...and each quiet stretch this long without one halves it again.</summary>
    public TimeSpan RelaxAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Where the chats Telegram told to wait are kept; null: in this process (<see cref="LocalFloodWaits"/>, from the two above).</summary>
    public IFloodWaits? FloodWaits { get; init; }
}

/// <summary>
/// Every message the bot sends goes through here, under Telegram's limits: per chat, per group and overall (the
/// limiters in <see cref="MessageSenderOptions"/>, counted as Telegram counts them, on arrival). After a 429 nothing
/// goes to that chat until its retry_after has passed, and its sends cost more until it has been quiet a while. Replies
/// go before bulk sends; a reply that would arrive too late is dropped rather than sent stale. It also backs off on 5xx
/// and network errors, follows a group's migration to a supergroup, and splits text over 4096 UTF-16 units.
/// </summary>
public sealed class MessageSender(ITelegramBotClient client, MessageSenderOptions options, TimeProvider time, ILogger<MessageSender> logger) : IDisposable
{
    public const int MaxMessageLength = 4096;
    private static readonly TimeSpan BulkYield = TimeSpan.FromMilliseconds(50);
    private readonly IFloodWaits _floodWaits = options.FloodWaits ?? new LocalFloodWaits(options.MaxPenalty, options.RelaxAfter, time);
    private int _waitingReplies;
    // Cancelled (and replaced) whenever a reply starts waiting: a bulk send waiting for units gives them up to it.
    private CancellationTokenSource _replyArrived = new();
    private int _waiting;

    /// <summary>Sends waiting for a permit or a chat's flood wait, for the queue-depth gauge.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Chats currently held by a flood wait or charged extra after one.</summary>
    public int Penalised => _floodWaits.Count;

    /// <summary>
    /// Each send from its call to its return, and the wait it is parked on: for a test on a manual clock, which moves the
    /// clock only when every send is parked (on a timer, a limiter or the send ahead of it on the wire) and none is
    /// being decided or on its way to Telegram. A send parked on a limiter is only as still as that limiter's own waiter:
    /// such a test also asks the limiters (<c>ArrivalWindowLimiter.Parked</c>; the Redis-shared ones do not say).
    /// </summary>
    internal ParkedWaits Parked { get; } = new();

    /// <summary>Raised when Telegram says a chat moved, so the caller can record the new id.</summary>
    public event Action<long, long>? ChatMigrated;

    public async Task<IReadOnlyList<Message>> SendTextAsync(OutgoingMessage message, CancellationToken ct)
    {
        using var flow = Parked.Begin();
        var sent = new List<Message>();
        var chatId = message.ChatId;
        var first = true;
        var created = time.GetTimestamp();
        foreach (var part in Split(message.Text, MaxMessageLength))
        {
            // Replies still arrive when the message they answer was deleted meanwhile.
            var reply = first && message.ReplyToMessageId is { } replyTo ? new ReplyParameters { MessageId = replyTo, AllowSendingWithoutReply = true } : null;
            var result = await SendWithRetriesAsync("sendMessage", chatId, message.Priority, created, id => client.SendMessage(
                id, part, message.ParseMode, reply, linkPreviewOptions: LinkPreviewOptions.Disabled, messageThreadId: message.MessageThreadId,
                cancellationToken: ct), flow, ct).ConfigureAwait(false);
            if (result is null)
            {
                return sent;
            }
            chatId = result.Chat.Id;
            sent.Add(result);
            first = false;
        }
        return sent;
    }

    /// <summary>
    /// Shows "typing…" in a chat for about five seconds, while a slow answer is being prepared. Best effort: a chat
    /// held by a flood wait is left alone, and a failure is only logged. Telegram does not count chat actions against
    /// a chat's message limits, so they take no permit.
    /// </summary>
    public async Task ShowTypingAsync(long chatId, int? messageThreadId, CancellationToken ct)
    {
        if ((await _floodWaits.CurrentAsync(chatId).ConfigureAwait(false)).Held > TimeSpan.Zero)
        {
            return;
        }
        try
        {
            await client.SendChatAction(chatId, ChatAction.Typing, messageThreadId, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestException or HttpRequestException && !ct.IsCancellationRequested)
        {
            logger.LogDebug("Could not show typing in chat {ChatId}: {Error}", chatId, ex.Message);
        }
    }

    /// <summary>Sends a photo with an HTML caption; null when it was a reply that went stale while waiting.</summary>
    public Task<Message?> SendPhotoAsync(long chatId, InputFile photo, string? caption, int? messageThreadId, CancellationToken ct, SendPriority priority = SendPriority.Reply,
        int? replyToMessageId = null) =>
        SendOneAsync("sendPhoto", chatId, priority,
            id => client.SendPhoto(id, Rewound(photo), caption, ParseMode.Html, messageThreadId: messageThreadId, cancellationToken: ct,
                // As a text answer does: in a busy group a chart says whose question it answers.
                replyParameters: replyToMessageId is { } replyTo ? new ReplyParameters { MessageId = replyTo, AllowSendingWithoutReply = true } : null), ct);

    /// <summary>Sends a document with an HTML caption; null when it was a reply that went stale while waiting.</summary>
    public Task<Message?> SendDocumentAsync(long chatId, InputFile document, string? caption, int? messageThreadId, CancellationToken ct, SendPriority priority = SendPriority.Bulk) =>
        SendOneAsync("sendDocument", chatId, priority,
            id => client.SendDocument(id, Rewound(document), caption, ParseMode.Html, messageThreadId: messageThreadId, cancellationToken: ct), ct);

    private async Task<Message?> SendOneAsync(string method, long chatId, SendPriority priority, Func<long, Task<Message>> send, CancellationToken ct)
    {
        using var flow = Parked.Begin();
        return await SendWithRetriesAsync(method, chatId, priority, time.GetTimestamp(), send, flow, ct).ConfigureAwait(false);
    }

    /// <summary>A retried upload must send the whole file again, not what is left of the stream.</summary>
    private static InputFile Rewound(InputFile file)
    {
        if (file is InputFileStream { Content.CanSeek: true } stream)
        {
            stream.Content.Position = 0;
        }
        return file;
    }

    /// <summary>
    /// The leases one send holds while it is on its way, disposed when Telegram has answered. A turn not used after all
    /// is disposed too: its permits are spent, which errs on the safe side.
    /// </summary>
    private readonly struct Turn(RateLimitLease? chat, RateLimitLease? group, RateLimitLease? global, IDisposable? alone) : IDisposable
    {
        public void Dispose()
        {
            alone?.Dispose();
            chat?.Dispose();
            group?.Dispose();
            global?.Dispose();
        }
    }

    /// <summary>A chat's one send on the wire, and how many sends want to be it.</summary>
    private sealed class Wire : IDisposable
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Wanting;

        public void Dispose() => Gate.Dispose();
    }

    private readonly Dictionary<long, Wire> _wires = [];

    /// <summary>
    /// One send at a time on the wire to a chat: a 429 for one is known before the next leaves, so no send to a chat that
    /// Telegram has just told to wait is already on its way, and a chat's messages arrive in the order they were sent.
    /// </summary>
    private async Task<IDisposable> AloneOnTheWireAsync(long chatId, ParkedWaits.Flow flow, CancellationToken ct)
    {
        Wire wire;
        lock (_wires)
        {
            wire = _wires.TryGetValue(chatId, out var existing) ? existing : _wires[chatId] = new Wire();
            wire.Wanting++;
        }
        try
        {
            await flow.On(wire.Gate.WaitAsync(ct)).ConfigureAwait(false);
        }
        catch
        {
            Leave(chatId, wire, release: false);
            throw;
        }
        return new Exit(() => Leave(chatId, wire, release: true));
    }

    private void Leave(long chatId, Wire wire, bool release)
    {
        if (release)
        {
            wire.Gate.Release();
        }
        lock (_wires)
        {
            if (--wire.Wanting == 0)
            {
                _wires.Remove(chatId);
                wire.Dispose();
            }
        }
    }

    private sealed class Exit(Action leave) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                leave();
            }
        }
    }

    /// <summary>
    /// Waits until this chat may be sent to: alone on the wire to it, its flood wait over, then units from each limit in
    /// turn (chat, group, overall). Bulk sends also stand aside while any reply is waiting. Null when a reply would arrive
    /// stale. Holding the wire first means a flood wait cannot begin for this chat while we wait for permits (only the
    /// send on the wire could draw it), so permits are never taken for a send that then may not go.
    /// </summary>
    private async Task<Turn?> WaitForTurnAsync(string method, long chatId, SendPriority priority, long created, ParkedWaits.Flow flow, CancellationToken ct)
    {
        var reply = priority == SendPriority.Reply;
        Interlocked.Increment(ref _waiting);
        try
        {
            var wire = await AloneOnTheWireAsync(chatId, flow, ct).ConfigureAwait(false);
            // Counted only once on the wire: a bulk send that stands aside for waiting replies must not wait for a reply
            // queued behind itself for the same chat.
            if (reply)
            {
                Interlocked.Increment(ref _waitingReplies);
                // Not disposed: a bulk send may be reading its token right now (a source without a timer needs no disposal).
                Interlocked.Exchange(ref _replyArrived, new CancellationTokenSource()).Cancel();
            }
            RateLimitLease? chat = null, group = null, global = null;
            try
            {
                while (true)
                {
                    var penalty = await _floodWaits.CurrentAsync(chatId).ConfigureAwait(false);
                    var held = penalty.Held;
                    if (held > TimeSpan.Zero)
                    {
                        if (reply && time.GetElapsedTime(created) + held > options.MaxReplyAge)
                        {
                            wire.Dispose();
                            return Stale(chatId, created, held);
                        }
                        if (held > options.MaxRetryAfter)
                        {
                            throw StillHeld(method, chatId, held);
                        }
                        await flow.On(Task.Delay(Clamp(held), time, ct)).ConfigureAwait(false);
                        continue;
                    }
                    if (!reply && Volatile.Read(ref _waitingReplies) > 0)
                    {
                        await flow.On(Task.Delay(BulkYield, time, ct)).ConfigureAwait(false);
                        continue;
                    }
                    chat = await TakeAsync(options.PerChat, chatId, penalty.Cost, reply, flow, ct).ConfigureAwait(false);
                    group = chatId < 0 ? await TakeAsync(options.PerGroup, chatId, penalty.Cost, reply, flow, ct).ConfigureAwait(false) : null;
                    global = await TakeAsync(options.Global, 0, 1, reply, flow, ct).ConfigureAwait(false);
                    var turn = new Turn(chat, group, global, wire);
                    if (reply && time.GetElapsedTime(created) > options.MaxReplyAge)
                    {
                        // Taken but not used: spent, which errs on the safe side.
                        turn.Dispose();
                        return Stale(chatId, created, TimeSpan.Zero);
                    }
                    return turn;
                }
            }
            catch
            {
                // Cancelled or refused on the way: a lease left in flight would hold its window shut for good.
                new Turn(chat, group, global, wire).Dispose();
                throw;
            }
            finally
            {
                if (reply)
                {
                    Interlocked.Decrement(ref _waitingReplies);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private Turn? Stale(long chatId, long created, TimeSpan stillHeld)
    {
        TelegramMetrics.StaleDropped.Add(1);
        logger.LogWarning("A reply to chat {ChatId} waited {Waited} for Telegram's limits (and would wait {Held} more) and is dropped as stale",
            chatId, time.GetElapsedTime(created), stillHeld);
        return null;
    }

    /// <summary>A send to a chat Telegram told to wait longer than a send waits: it fails as Telegram would have failed it.</summary>
    private static ApiRequestException StillHeld(string method, long chatId, TimeSpan held)
    {
        var seconds = (int)Math.Min(int.MaxValue, Math.Ceiling(held.TotalSeconds));
        return new ApiRequestException($"Too Many Requests: retry after {seconds} ({method} to chat {chatId} not sent: Telegram's flood wait for it is still running)",
            429, new ResponseParameters { RetryAfter = seconds });
    }

    /// <summary>
    /// A wait a timer accepts: never negative, never beyond an hour (longer waits are taken in steps: a timer cannot take
    /// any length, and a flood wait of a day must not throw where it is waited).
    /// </summary>
    internal static TimeSpan Clamp(TimeSpan wait) => wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > MaxStep ? MaxStep : wait;

    private static readonly TimeSpan MaxStep = TimeSpan.FromHours(1);

    /// <summary>
    /// A reply waits for units in turn. A bulk send waits only while no reply does: when a reply starts waiting, the
    /// bulk send gives up its place and stands aside, so units that free up go to the reply. (Waiting rather than asking
    /// and sleeping keeps every limiter call asynchronous: a limiter shared through Redis never blocks a thread.)
    /// </summary>
    private async ValueTask<RateLimitLease?> TakeAsync(PartitionedRateLimiter<long>? limiter, long key, int cost, bool reply, ParkedWaits.Flow flow, CancellationToken ct)
    {
        if (limiter is null)
        {
            return null;
        }
        if (reply)
        {
            return await ParkOn(limiter.AcquireAsync(key, cost, ct)).ConfigureAwait(false);
        }
        while (true)
        {
            // Read the signal before looking for replies: one that starts waiting after the look cancels this very signal.
            var arrived = Volatile.Read(ref _replyArrived).Token;
            if (Volatile.Read(ref _waitingReplies) > 0)
            {
                await flow.On(Task.Delay(BulkYield, time, ct)).ConfigureAwait(false);
                continue;
            }
            using var either = CancellationTokenSource.CreateLinkedTokenSource(ct, arrived);
            try
            {
                return await ParkOn(limiter.AcquireAsync(key, cost, either.Token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // A reply started waiting: it goes first.
            }
        }

        // A permit granted at once is no wait; one that is not parks the send until it is.
        ValueTask<RateLimitLease> ParkOn(ValueTask<RateLimitLease> pending) =>
            pending.IsCompleted ? pending : new ValueTask<RateLimitLease>(flow.On(pending.AsTask()));
    }

    /// <summary>
    /// Every attempt waits its turn under the limits: a send Telegram refused was not delivered, so its retry needs
    /// units of its own. The units are held while the request is on its way and stamped when Telegram has answered.
    /// </summary>
    private async Task<Message?> SendWithRetriesAsync(string method, long chatId, SendPriority priority, long created, Func<long, Task<Message>> send,
        ParkedWaits.Flow flow, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var waiting = time.GetTimestamp();
            var next = await WaitForTurnAsync(method, chatId, priority, created, flow, ct).ConfigureAwait(false);
            SendTiming.Current?.Waited(time.GetElapsedTime(waiting));
            if (next is not { } turn)
            {
                return null;
            }
            try
            {
                SendTiming.Current?.Sending(time.GetTimestamp());
                var message = await send(chatId).ConfigureAwait(false);
                TelegramMetrics.Sent.Add(1, new KeyValuePair<string, object?>("method", method));
                return message;
            }
            catch (RequestException ex) when (ex.MigrateToChatId() is { } newId && newId != chatId)
            {
                logger.LogInformation("Chat {ChatId} became supergroup {NewChatId}; resending there", chatId, newId);
                ChatMigrated?.Invoke(chatId, newId);
                chatId = newId;
            }
            catch (RequestException ex) when (ex.RetryAfter() is { } wait)
            {
                // Telegram told this chat to wait: every send to it holds off, not just this one, and our model of it was
                // too generous, so its sends cost more for a while.
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.Code()));
                TelegramMetrics.FloodWaits.Add(1, new KeyValuePair<string, object?>("scope", chatId < 0 ? "group" : "private"));
                var penalty = await _floodWaits.StrikeAsync(chatId, wait).ConfigureAwait(false);
                logger.LogWarning("{Method} to chat {ChatId} flood-limited; holding the chat for {Delay} and charging its sends {Cost}×",
                    method, chatId, wait, penalty.Cost);
                if (attempt >= options.MaxAttempts || wait > options.MaxRetryAfter)
                {
                    throw;
                }
            }
            catch (RequestException ex) when (ex.IsTransient() && attempt < options.MaxAttempts)
            {
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.Code()));
                var delay = options.ErrorBackoff.Delay(attempt - 1);
                logger.LogWarning("{Method} to chat {ChatId} failed ({ErrorCode} {Description}); retrying in {Delay}", method, chatId, ex.Code(), ex.Message, delay);
                await flow.On(Task.Delay(Clamp(delay), time, ct)).ConfigureAwait(false);
            }
            catch (RequestException ex)
            {
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.Code()));
                throw;
            }
            finally
            {
                // Whatever came back, the request may have reached Telegram: its window starts now.
                turn.Dispose();
            }
        }
    }

    public void Dispose() => _replyArrived.Dispose();

    /// <summary>Splits at line breaks where possible, never inside a surrogate pair, an entity or a tag. Our HTML never spans lines with a tag.</summary>
    public static IEnumerable<string> Split(string text, int max)
    {
        if (text.Length <= max)
        {
            yield return text;
            yield break;
        }
        var start = 0;
        while (start < text.Length)
        {
            if (text.Length - start <= max)
            {
                yield return text[start..];
                yield break;
            }
            var end = text.LastIndexOf('\n', start + max - 1, max);
            if (end <= start)
            {
                end = start + max;
                if (char.IsHighSurrogate(text[end - 1]))
                {
                    end--;
                }
                // Nor inside an entity or a tag: "&l" + "t;" would be refused as HTML, and the part with it never arrive.
                foreach (var (open, close) in new[] { ('&', ';'), ('<', '>') })
                {
                    var at = text.LastIndexOf(open, end - 1, end - start);
                    if (at > start && text.IndexOf(close, at, end - at) < 0)
                    {
                        end = at;
                    }
                }
                yield return text[start..end];
                start = end;
            }
            else
            {
                yield return text[start..end];
                start = end + 1;
            }
        }
    }
}
