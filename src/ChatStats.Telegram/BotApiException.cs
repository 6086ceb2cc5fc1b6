namespace ChatStats.Telegram;

/// <summary>
/// Telegram answered a Bot API call with ok=false, or the call could not be made. The message names the
/// method and Telegram's description, never the URL (which carries the bot token).
/// </summary>
public sealed class BotApiException : Exception
{
    public BotApiException(string method, int errorCode, string description, int? retryAfter = null, long? migrateToChatId = null, Exception? inner = null)
        : base($"{method}: {errorCode} {description}", inner)
    {
        Method = method;
        ErrorCode = errorCode;
        Description = description;
        RetryAfter = retryAfter is null ? null : TimeSpan.FromSeconds(retryAfter.Value);
        MigrateToChatId = migrateToChatId;
    }

    public string Method { get; }

    /// <summary>The HTTP-like code Telegram returned; 0 when no answer arrived (network error, timeout).</summary>
    public int ErrorCode { get; }

    public string Description { get; }

    /// <summary>Telegram's flood-wait, from <c>parameters.retry_after</c> on a 429.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Set when a group became a supergroup: repeat the call with this chat id.</summary>
    public long? MigrateToChatId { get; }

    public bool IsNetworkError => ErrorCode == 0;
    public bool IsTransient => ErrorCode is 0 or 429 or >= 500;
}
