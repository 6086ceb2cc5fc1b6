using System.Text.Json.Serialization;

namespace ChatStats.Telegram.Types;

public sealed record User
{
    [JsonPropertyName("id")] public required long Id { get; init; }
    [JsonPropertyName("is_bot")] public bool IsBot { get; init; }
    [JsonPropertyName("first_name")] public string FirstName { get; init; } = "";
    [JsonPropertyName("last_name")] public string? LastName { get; init; }
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("language_code")] public string? LanguageCode { get; init; }
    [JsonPropertyName("is_premium")] public bool? IsPremium { get; init; }
    [JsonPropertyName("can_join_groups")] public bool? CanJoinGroups { get; init; }

    [JsonIgnore] public string FullName => string.IsNullOrEmpty(LastName) ? FirstName : $"{FirstName} {LastName}";
}

public sealed record Chat
{
    [JsonPropertyName("id")] public required long Id { get; init; }
    [JsonPropertyName("type")] public string Type { get; init; } = "";
    [JsonPropertyName("title")] public string? Title { get; init; }
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("first_name")] public string? FirstName { get; init; }
    [JsonPropertyName("last_name")] public string? LastName { get; init; }
    [JsonPropertyName("is_forum")] public bool? IsForum { get; init; }

    [JsonIgnore] public bool IsGroup => Type is ChatTypes.Group or ChatTypes.Supergroup;
}

public static class ChatTypes
{
    public const string Private = "private";
    public const string Group = "group";
    public const string Supergroup = "supergroup";
    public const string Channel = "channel";
}

public sealed record MessageEntity
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("offset")] public int Offset { get; init; }
    [JsonPropertyName("length")] public int Length { get; init; }
    [JsonPropertyName("url")] public string? Url { get; init; }
    [JsonPropertyName("user")] public User? User { get; init; }
    [JsonPropertyName("language")] public string? Language { get; init; }
    [JsonPropertyName("custom_emoji_id")] public string? CustomEmojiId { get; init; }
}

public sealed record PhotoSize
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("file_unique_id")] public string? FileUniqueId { get; init; }
    [JsonPropertyName("width")] public int Width { get; init; }
    [JsonPropertyName("height")] public int Height { get; init; }
    [JsonPropertyName("file_size")] public long? FileSize { get; init; }
}

public sealed record Animation
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("duration")] public int Duration { get; init; }
    [JsonPropertyName("file_name")] public string? FileName { get; init; }
    [JsonPropertyName("mime_type")] public string? MimeType { get; init; }
}

public sealed record Audio
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("duration")] public int Duration { get; init; }
    [JsonPropertyName("performer")] public string? Performer { get; init; }
    [JsonPropertyName("title")] public string? Title { get; init; }
}

public sealed record Document
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("file_name")] public string? FileName { get; init; }
    [JsonPropertyName("mime_type")] public string? MimeType { get; init; }
    [JsonPropertyName("file_size")] public long? FileSize { get; init; }
}

public sealed record Sticker
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("emoji")] public string? Emoji { get; init; }
    [JsonPropertyName("set_name")] public string? SetName { get; init; }
    [JsonPropertyName("is_animated")] public bool IsAnimated { get; init; }
    [JsonPropertyName("is_video")] public bool IsVideo { get; init; }
}

public sealed record Video
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("duration")] public int Duration { get; init; }
}

public sealed record VideoNote
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("duration")] public int Duration { get; init; }
}

public sealed record Voice
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("duration")] public int Duration { get; init; }
}

public sealed record Contact
{
    [JsonPropertyName("phone_number")] public string? PhoneNumber { get; init; }
    [JsonPropertyName("first_name")] public string? FirstName { get; init; }
    [JsonPropertyName("user_id")] public long? UserId { get; init; }
}

public sealed record Dice
{
    [JsonPropertyName("emoji")] public string? Emoji { get; init; }
    [JsonPropertyName("value")] public int Value { get; init; }
}

public sealed record Poll
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("question")] public string? Question { get; init; }
    [JsonPropertyName("options")] public IReadOnlyList<PollOption>? Options { get; init; }
    [JsonPropertyName("is_anonymous")] public bool IsAnonymous { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
}

public sealed record PollOption
{
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("voter_count")] public int VoterCount { get; init; }
}

/// <summary>Where a forwarded message came from; only the kind and date matter here.</summary>
public sealed record MessageOrigin
{
    /// <summary>user, hidden_user, chat or channel.</summary>
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("date")] public long Date { get; init; }
}

/// <summary>The message a pin refers to (possibly no longer accessible: then only these fields are present).</summary>
public sealed record PinnedMessage
{
    [JsonPropertyName("message_id")] public int MessageId { get; init; }
    [JsonPropertyName("date")] public long Date { get; init; }
}

public sealed record Venue
{
    [JsonPropertyName("location")] public Location? Location { get; init; }
    [JsonPropertyName("title")] public string? Title { get; init; }
    [JsonPropertyName("address")] public string? Address { get; init; }
}

public sealed record Location
{
    [JsonPropertyName("latitude")] public double Latitude { get; init; }
    [JsonPropertyName("longitude")] public double Longitude { get; init; }
}

public sealed record CallbackQuery
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("from")] public required User From { get; init; }
    [JsonPropertyName("message")] public Message? Message { get; init; }
    [JsonPropertyName("chat_instance")] public string? ChatInstance { get; init; }
    [JsonPropertyName("data")] public string? Data { get; init; }
}

public sealed record ChatMemberUpdated
{
    [JsonPropertyName("chat")] public required Chat Chat { get; init; }
    [JsonPropertyName("from")] public required User From { get; init; }
    [JsonPropertyName("date")] public long Date { get; init; }
    [JsonPropertyName("old_chat_member")] public required ChatMember OldChatMember { get; init; }
    [JsonPropertyName("new_chat_member")] public required ChatMember NewChatMember { get; init; }
}

public sealed record ChatMember
{
    /// <summary>creator, administrator, member, restricted, left or kicked.</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("user")] public required User User { get; init; }
    [JsonPropertyName("is_member")] public bool? IsMember { get; init; }
    [JsonPropertyName("custom_title")] public string? CustomTitle { get; init; }

    [JsonIgnore] public bool IsAdmin => Status is "creator" or "administrator";
    [JsonIgnore] public bool IsPresent => Status is "creator" or "administrator" or "member" || (Status == "restricted" && IsMember == true);
}

public sealed record MessageReactionUpdated
{
    [JsonPropertyName("chat")] public required Chat Chat { get; init; }
    [JsonPropertyName("message_id")] public int MessageId { get; init; }
    [JsonPropertyName("user")] public User? User { get; init; }
    [JsonPropertyName("actor_chat")] public Chat? ActorChat { get; init; }
    [JsonPropertyName("date")] public long Date { get; init; }
    [JsonPropertyName("old_reaction")] public IReadOnlyList<ReactionType> OldReaction { get; init; } = [];
    [JsonPropertyName("new_reaction")] public IReadOnlyList<ReactionType> NewReaction { get; init; } = [];
}

public sealed record MessageReactionCountUpdated
{
    [JsonPropertyName("chat")] public required Chat Chat { get; init; }
    [JsonPropertyName("message_id")] public int MessageId { get; init; }
    [JsonPropertyName("date")] public long Date { get; init; }
    [JsonPropertyName("reactions")] public IReadOnlyList<ReactionCount> Reactions { get; init; } = [];
}

public sealed record ReactionType
{
    /// <summary>emoji, custom_emoji or paid.</summary>
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("emoji")] public string? Emoji { get; init; }
    [JsonPropertyName("custom_emoji_id")] public string? CustomEmojiId { get; init; }
}

public sealed record ReactionCount
{
    [JsonPropertyName("type")] public required ReactionType Type { get; init; }
    [JsonPropertyName("total_count")] public int TotalCount { get; init; }
}

public sealed record BotCommand(
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("description")] string Description);

public sealed record ResponseParameters
{
    [JsonPropertyName("migrate_to_chat_id")] public long? MigrateToChatId { get; init; }
    [JsonPropertyName("retry_after")] public int? RetryAfter { get; init; }
}

public sealed record ApiResponse<T>
{
    [JsonPropertyName("ok")] public bool Ok { get; init; }
    [JsonPropertyName("result")] public T? Result { get; init; }
    [JsonPropertyName("error_code")] public int? ErrorCode { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("parameters")] public ResponseParameters? Parameters { get; init; }
}
