using Telegram.Bot.Exceptions;

namespace ChatStats.Telegram;

/// <summary>
/// What callers need to know about a failed Bot API call, read off Telegram.Bot's exceptions: an
/// <see cref="ApiRequestException"/> when Telegram answered with an error, a plain <see cref="RequestException"/> when no
/// readable answer came (network, timeout, a proxy's error page).
/// </summary>
public static class BotApiErrors
{
    /// <summary>Telegram's error code, the HTTP status of an unreadable answer, or 0 when no answer came at all.</summary>
    public static int Code(this RequestException ex) => ex is ApiRequestException api ? api.ErrorCode : (int?)ex.HttpStatusCode ?? 0;

    /// <summary>Worth retrying after a wait: no answer, a flood wait, or a server-side failure.</summary>
    public static bool IsTransient(this RequestException ex) => ex.Code() is 0 or 429 or >= 500;

    /// <summary>The token is wrong or revoked (Telegram answers 404 to a token it never issued).</summary>
    public static bool IsUnauthorized(this RequestException ex) => ex.Code() is 401 or 404;

    /// <summary>Telegram's flood wait, from <c>parameters.retry_after</c> on a 429.</summary>
    public static TimeSpan? RetryAfter(this RequestException ex) =>
        (ex as ApiRequestException)?.Parameters?.RetryAfter is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

    /// <summary>Set when a group became a supergroup: repeat the call with this chat id.</summary>
    public static long? MigrateToChatId(this RequestException ex) => (ex as ApiRequestException)?.Parameters?.MigrateToChatId;
}
