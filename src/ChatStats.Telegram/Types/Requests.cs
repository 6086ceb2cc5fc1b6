using System.Text.Json.Serialization;

namespace ChatStats.Telegram.Types;

public static class ParseModes
{
    public const string Html = "HTML";
}

public sealed record GetUpdatesRequest(
    [property: JsonPropertyName("offset")] long? Offset,
    [property: JsonPropertyName("limit")] int Limit,
    [property: JsonPropertyName("timeout")] int Timeout,
    [property: JsonPropertyName("allowed_updates")] IReadOnlyList<string> AllowedUpdates);

public sealed record ReplyParameters(
    [property: JsonPropertyName("message_id")] int MessageId,
    [property: JsonPropertyName("allow_sending_without_reply")] bool AllowSendingWithoutReply = true);

public sealed record LinkPreviewOptions([property: JsonPropertyName("is_disabled")] bool IsDisabled);

public sealed record SendMessageRequest
{
    [JsonPropertyName("chat_id")] public required long ChatId { get; init; }
    [JsonPropertyName("text")] public required string Text { get; init; }
    [JsonPropertyName("parse_mode")] public string? ParseMode { get; init; }
    [JsonPropertyName("message_thread_id")] public int? MessageThreadId { get; init; }
    [JsonPropertyName("reply_parameters")] public ReplyParameters? ReplyParameters { get; init; }
    [JsonPropertyName("link_preview_options")] public LinkPreviewOptions? LinkPreviewOptions { get; init; }
    [JsonPropertyName("disable_notification")] public bool? DisableNotification { get; init; }
}

public sealed record SendChatActionRequest(
    [property: JsonPropertyName("chat_id")] long ChatId,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("message_thread_id")] int? MessageThreadId);

public sealed record SetMyCommandsRequest(
    [property: JsonPropertyName("commands")] IReadOnlyList<BotCommand> Commands,
    [property: JsonPropertyName("language_code")] string? LanguageCode);

public sealed record DeleteWebhookRequest([property: JsonPropertyName("drop_pending_updates")] bool DropPendingUpdates);

public sealed record ChatIdRequest([property: JsonPropertyName("chat_id")] long ChatId);

public sealed record GetChatMemberRequest(
    [property: JsonPropertyName("chat_id")] long ChatId,
    [property: JsonPropertyName("user_id")] long UserId);

/// <summary>A file to upload with sendPhoto or sendDocument.</summary>
public sealed record InputFile(string FileName, ReadOnlyMemory<byte> Content, string ContentType);
