using System.Text.Json.Serialization;

namespace ChatStats.Telegram.Types;

/// <summary>The kinds of update ChatStats understands; anything else is <see cref="UpdateKind.Unknown"/> and kept as raw JSON.</summary>
public enum UpdateKind
{
    Unknown,
    Message,
    EditedMessage,
    ChannelPost,
    EditedChannelPost,
    CallbackQuery,
    MyChatMember,
    ChatMember,
    MessageReaction,
    MessageReactionCount,
    Malformed,
}

public sealed record Update
{
    [JsonPropertyName("update_id")] public required long UpdateId { get; init; }
    [JsonPropertyName("message")] public Message? Message { get; init; }
    [JsonPropertyName("edited_message")] public Message? EditedMessage { get; init; }
    [JsonPropertyName("channel_post")] public Message? ChannelPost { get; init; }
    [JsonPropertyName("edited_channel_post")] public Message? EditedChannelPost { get; init; }
    [JsonPropertyName("callback_query")] public CallbackQuery? CallbackQuery { get; init; }
    [JsonPropertyName("my_chat_member")] public ChatMemberUpdated? MyChatMember { get; init; }
    [JsonPropertyName("chat_member")] public ChatMemberUpdated? ChatMember { get; init; }
    [JsonPropertyName("message_reaction")] public MessageReactionUpdated? MessageReaction { get; init; }
    [JsonPropertyName("message_reaction_count")] public MessageReactionCountUpdated? MessageReactionCount { get; init; }

    /// <summary>
    /// The update's JSON exactly as received, when it could not be parsed or is of an unknown kind (newer than this
    /// client). Unknown fields of known kinds are skipped: the caller keeps the raw bytes if it needs them.
    /// </summary>
    [JsonIgnore] public string? RawJson { get; init; }

    /// <summary>Why the update could not be parsed, for <see cref="UpdateKind.Malformed"/>.</summary>
    [JsonIgnore] public string? ParseError { get; init; }

    [JsonIgnore]
    public UpdateKind Kind => this switch
    {
        { ParseError: not null } => UpdateKind.Malformed,
        { Message: not null } => UpdateKind.Message,
        { EditedMessage: not null } => UpdateKind.EditedMessage,
        { ChannelPost: not null } => UpdateKind.ChannelPost,
        { EditedChannelPost: not null } => UpdateKind.EditedChannelPost,
        { CallbackQuery: not null } => UpdateKind.CallbackQuery,
        { MyChatMember: not null } => UpdateKind.MyChatMember,
        { ChatMember: not null } => UpdateKind.ChatMember,
        { MessageReaction: not null } => UpdateKind.MessageReaction,
        { MessageReactionCount: not null } => UpdateKind.MessageReactionCount,
        _ => UpdateKind.Unknown,
    };

    /// <summary>The chat the update belongs to, used to keep one chat's updates in order.</summary>
    [JsonIgnore]
    public long? ChatId => (Message ?? EditedMessage ?? ChannelPost ?? EditedChannelPost)?.Chat.Id
        ?? CallbackQuery?.Message?.Chat.Id
        ?? MyChatMember?.Chat.Id
        ?? ChatMember?.Chat.Id
        ?? MessageReaction?.Chat.Id
        ?? MessageReactionCount?.Chat.Id;
}
