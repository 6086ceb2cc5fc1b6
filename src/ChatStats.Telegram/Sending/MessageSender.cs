using ChatStats.Telegram.Types;
using Microsoft.Extensions.Logging;

namespace ChatStats.Telegram.Sending;

/// <summary>An outgoing text message; <see cref="Text"/> is already escaped for <see cref="ParseMode"/>.</summary>
public sealed record OutgoingMessage
{
    public required long ChatId { get; init; }
    public required string Text { get; init; }
    public string? ParseMode { get; init; } = ParseModes.Html;
    public int? MessageThreadId { get; init; }
    public int? ReplyToMessageId { get; init; }
}

public sealed record MessageSenderOptions
{
    public int MaxAttempts { get; init; } = 5;
    public Backoff ErrorBackoff { get; init; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>Telegram refuses a 429 wait longer than this is worth for an interactive reply.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Sends messages the way Telegram wants: waits out 429 retry_after, backs off on 5xx and network errors, follows a
/// group's migration to a supergroup, and splits text over 4096 UTF-16 units at line breaks.
/// </summary>
public sealed class MessageSender(BotApiClient client, MessageSenderOptions options, TimeProvider time, ILogger<MessageSender> logger)
{
    public const int MaxMessageLength = 4096;

    /// <summary>Raised when Telegram says a chat moved, so the caller can record the new id.</summary>
    public event Action<long, long>? ChatMigrated;

    public async Task<IReadOnlyList<Message>> SendTextAsync(OutgoingMessage message, CancellationToken ct)
    {
        var sent = new List<Message>();
        var chatId = message.ChatId;
        var first = true;
        foreach (var part in Split(message.Text, MaxMessageLength))
        {
            var request = new SendMessageRequest
            {
                ChatId = chatId,
                Text = part,
                ParseMode = message.ParseMode,
                MessageThreadId = message.MessageThreadId,
                ReplyParameters = first && message.ReplyToMessageId is { } replyTo ? new ReplyParameters(replyTo) : null,
                LinkPreviewOptions = new LinkPreviewOptions(true),
            };
            var result = await SendWithRetriesAsync("sendMessage", chatId, id => client.SendMessageAsync(request with { ChatId = id }, ct), ct).ConfigureAwait(false);
            chatId = result.Chat.Id;
            sent.Add(result);
            first = false;
        }
        return sent;
    }

    public Task<Message> SendPhotoAsync(long chatId, InputFile photo, string? caption, int? messageThreadId, CancellationToken ct) =>
        SendWithRetriesAsync("sendPhoto", chatId, id => client.SendPhotoAsync(id, photo, caption, ParseModes.Html, messageThreadId, ct), ct);

    public Task<Message> SendDocumentAsync(long chatId, InputFile document, string? caption, int? messageThreadId, CancellationToken ct) =>
        SendWithRetriesAsync("sendDocument", chatId, id => client.SendDocumentAsync(id, document, caption, ParseModes.Html, messageThreadId, ct), ct);

    private async Task<Message> SendWithRetriesAsync(string method, long chatId, Func<long, Task<Message>> send, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var message = await send(chatId).ConfigureAwait(false);
                TelegramMetrics.Sent.Add(1, new KeyValuePair<string, object?>("method", method));
                return message;
            }
            catch (BotApiException ex) when (ex.MigrateToChatId is { } newId && newId != chatId)
            {
                logger.LogInformation("Chat {ChatId} became supergroup {NewChatId}; resending there", chatId, newId);
                ChatMigrated?.Invoke(chatId, newId);
                chatId = newId;
            }
            catch (BotApiException ex) when (ex.IsTransient && attempt < options.MaxAttempts)
            {
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.ErrorCode));
                var delay = ex.RetryAfter ?? options.ErrorBackoff.Delay(attempt - 1);
                if (delay > options.MaxRetryAfter)
                {
                    throw;
                }
                logger.LogWarning("{Method} to chat {ChatId} failed ({ErrorCode} {Description}); retrying in {Delay}", method, chatId, ex.ErrorCode, ex.Description, delay);
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
            }
            catch (BotApiException ex)
            {
                TelegramMetrics.SendErrors.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", ex.ErrorCode));
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
