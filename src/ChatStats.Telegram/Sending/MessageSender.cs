using System.Collections.Concurrent;
using System.Threading.RateLimiting;
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

    /// <summary>Telegram refuses a 429 wait longer than this is worth for an interactive reply.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A reply that could not be sent within this long is dropped (and counted) rather than sent stale.</summary>
    public TimeSpan MaxReplyAge { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Per chat (about one a second, with a short burst). Null: no limit of ours.</summary>
    public PartitionedRateLimiter<long>? PerChat { get; init; }

    /// <summary>Per group or supergroup (20 a minute); private chats are not counted here.</summary>
    public PartitionedRateLimiter<long>? PerGroup { get; init; }

    /// <summary>Everything the bot sends (30 a second); keyed by 0.</summary>
    public PartitionedRateLimiter<long>? Global { get; init; }
}

/// <summary>
/// Every message the bot sends goes through here, under Telegram's limits: per chat, per group and overall (the
/// limiters in <see cref="MessageSenderOptions"/>), and after a 429 nothing goes to that chat until its retry_after has
/// passed. Replies go before bulk sends; a reply that waited too long is dropped rather than sent stale. It also backs
/// off on 5xx and network errors, follows a group's migration to a supergroup, and splits text over 4096 UTF-16 units.
/// </summary>
public sealed class MessageSender(ITelegramBotClient client, MessageSenderOptions options, TimeProvider time, ILogger<MessageSender> logger)
{
    public const int MaxMessageLength = 4096;
    private static readonly TimeSpan BulkYield = TimeSpan.FromMilliseconds(50);
    private readonly ConcurrentDictionary<long, DateTimeOffset> _pausedUntil = new();
    private int _waitingReplies;
    private int _waiting;

    /// <summary>Sends waiting for a permit or a chat's flood wait, for the queue-depth gauge.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Raised when Telegram says a chat moved, so the caller can record the new id.</summary>
    public event Action<long, long>? ChatMigrated;

    public async Task<IReadOnlyList<Message>> SendTextAsync(OutgoingMessage message, CancellationToken ct)
    {
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
                cancellationToken: ct), ct).ConfigureAwait(false);
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

    /// <summary>Sends a photo with an HTML caption; null when it was a reply that went stale while waiting.</summary>
    public Task<Message?> SendPhotoAsync(long chatId, InputFile photo, string? caption, int? messageThreadId, CancellationToken ct, SendPriority priority = SendPriority.Reply) =>
        SendWithRetriesAsync("sendPhoto", chatId, priority, time.GetTimestamp(),
            id => client.SendPhoto(id, Rewound(photo), caption, ParseMode.Html, messageThreadId: messageThreadId, cancellationToken: ct), ct);

    /// <summary>Sends a document with an HTML caption; null when it was a reply that went stale while waiting.</summary>
    public Task<Message?> SendDocumentAsync(long chatId, InputFile document, string? caption, int? messageThreadId, CancellationToken ct, SendPriority priority = SendPriority.Bulk) =>
        SendWithRetriesAsync("sendDocument", chatId, priority, time.GetTimestamp(),
            id => client.SendDocument(id, Rewound(document), caption, ParseMode.Html, messageThreadId: messageThreadId, cancellationToken: ct), ct);

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
    /// Waits until this chat may be sent to: its flood wait over, then a permit from each limit in turn (chat, group,
    /// overall). Bulk sends also stand aside while any reply is waiting. False when a reply went stale meanwhile.
    /// </summary>
    private async Task<bool> WaitForTurnAsync(long chatId, SendPriority priority, long created, CancellationToken ct)
    {
        var reply = priority == SendPriority.Reply;
        Interlocked.Increment(ref _waiting);
        if (reply)
        {
            Interlocked.Increment(ref _waitingReplies);
        }
        try
        {
            while (true)
            {
                if (_pausedUntil.TryGetValue(chatId, out var until))
                {
                    if (until > time.GetUtcNow())
                    {
                        await Task.Delay(until - time.GetUtcNow(), time, ct).ConfigureAwait(false);
                        continue;
                    }
                    _pausedUntil.TryRemove(new KeyValuePair<long, DateTimeOffset>(chatId, until));
                }
                if (!reply && Volatile.Read(ref _waitingReplies) > 0)
                {
                    await Task.Delay(BulkYield, time, ct).ConfigureAwait(false);
                    continue;
                }
                await TakeAsync(options.PerChat, chatId, reply, ct).ConfigureAwait(false);
                if (chatId < 0)
                {
                    await TakeAsync(options.PerGroup, chatId, reply, ct).ConfigureAwait(false);
                }
                await TakeAsync(options.Global, 0, reply, ct).ConfigureAwait(false);
                // A flood wait may have begun while we queued for permits: honour it before sending.
                if (_pausedUntil.TryGetValue(chatId, out until) && until > time.GetUtcNow())
                {
                    continue;
                }
                if (reply && time.GetElapsedTime(created) > options.MaxReplyAge)
                {
                    TelegramMetrics.StaleDropped.Add(1);
                    logger.LogWarning("A reply to chat {ChatId} waited {Waited} for Telegram's limits and is dropped as stale", chatId, time.GetElapsedTime(created));
                    return false;
                }
                return true;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
            if (reply)
            {
                Interlocked.Decrement(ref _waitingReplies);
            }
        }
    }

    /// <summary>
    /// A reply waits in the limiter's own queue. A bulk send never does: it asks, and while any reply is waiting it
    /// stands aside, so a token that frees up goes to the reply.
    /// </summary>
    private async ValueTask TakeAsync(PartitionedRateLimiter<long>? limiter, long key, bool reply, CancellationToken ct)
    {
        if (limiter is null)
        {
            return;
        }
        if (reply)
        {
            using var lease = await limiter.AcquireAsync(key, 1, ct).ConfigureAwait(false);
            return;
        }
        while (true)
        {
            if (Volatile.Read(ref _waitingReplies) == 0)
            {
                using var lease = limiter.AttemptAcquire(key, 1);
                if (lease.IsAcquired)
                {
                    return;
                }
                var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : BulkYield;
                await Task.Delay(wait > BulkYield ? wait : BulkYield, time, ct).ConfigureAwait(false);
            }
            else
            {
                await Task.Delay(BulkYield, time, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Every attempt waits its turn under the limits: a send Telegram refused was not delivered, so its retry needs
    /// permits of its own (reusing the first attempt's would let delayed sends bunch up with fresh ones).
    /// </summary>
    private async Task<Message?> SendWithRetriesAsync(string method, long chatId, SendPriority priority, long created, Func<long, Task<Message>> send, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (!await WaitForTurnAsync(chatId, priority, created, ct).ConfigureAwait(false))
            {
                return null;
            }
            try
            {
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
            catch (RequestException ex) when (ex.IsTransient() && attempt < options.MaxAttempts)
            {
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.Code()));
                if (ex.RetryAfter() is { } wait)
                {
                    if (wait > options.MaxRetryAfter)
                    {
                        throw;
                    }
                    // Telegram told this chat to wait: every send to it holds off, not just this one.
                    TelegramMetrics.FloodWaits.Add(1);
                    var until = time.GetUtcNow() + wait;
                    _pausedUntil.AddOrUpdate(chatId, until, (_, current) => current > until ? current : until);
                    logger.LogWarning("{Method} to chat {ChatId} flood-limited; holding the chat for {Delay}", method, chatId, wait);
                }
                else
                {
                    var delay = options.ErrorBackoff.Delay(attempt - 1);
                    logger.LogWarning("{Method} to chat {ChatId} failed ({ErrorCode} {Description}); retrying in {Delay}", method, chatId, ex.Code(), ex.Message, delay);
                    await Task.Delay(delay, time, ct).ConfigureAwait(false);
                }
            }
            catch (RequestException ex)
            {
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.Code()));
                throw;
            }
        }
    }

    /// <summary>Splits at line breaks where possible, never inside a surrogate pair. Our HTML never spans lines with a tag.</summary>
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
