namespace ChatStats.Telegram.Http;

/// <summary>How to reach the Bot API: the token, the server, and the deadlines and connection bound of its HTTP client.</summary>
public sealed record BotApiConnection
{
    public required string Token { get; init; }

    /// <summary>A local Bot API server (<c>http://localhost:8081</c>) or a stand-in; null for Telegram's own.</summary>
    public string? BaseUrl { get; init; }

    /// <summary>The deadline for an ordinary call's answer.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The deadline for a call that uploads a file (sendPhoto, sendDocument).</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>The long-poll timeout getUpdates asks for; its HTTP deadline is <see cref="PollMargin"/> longer.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections open to the Bot API server at once; calls beyond it queue for a free one.</summary>
    public int MaxConnections { get; init; } = 100;

    /// <summary>How much longer than its long-poll timeout a getUpdates may take before it counts as lost.</summary>
    public static readonly TimeSpan PollMargin = TimeSpan.FromSeconds(15);

    /// <summary>Replaces the bot token wherever it appears in <paramref name="text"/>: it is part of every Bot API URL.</summary>
    public string Redact(string text) => string.IsNullOrEmpty(Token) ? text : text.Replace(Token, "<token>", StringComparison.Ordinal);
}
