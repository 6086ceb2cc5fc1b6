using System.Text.Json.Serialization;

namespace ChatStats.Telegram.Types;

public sealed record Message
{
    [JsonPropertyName("message_id")] public required int MessageId { get; init; }
    [JsonPropertyName("message_thread_id")] public int? MessageThreadId { get; init; }
    [JsonPropertyName("is_topic_message")] public bool? IsTopicMessage { get; init; }
    [JsonPropertyName("from")] public User? From { get; init; }
    [JsonPropertyName("sender_chat")] public Chat? SenderChat { get; init; }
    [JsonPropertyName("date")] public required long Date { get; init; }
    [JsonPropertyName("chat")] public required Chat Chat { get; init; }
    [JsonPropertyName("forward_origin")] public MessageOrigin? ForwardOrigin { get; init; }
    [JsonPropertyName("forward_from")] public User? ForwardFrom { get; init; }
    [JsonPropertyName("forward_date")] public long? ForwardDate { get; init; }
    [JsonPropertyName("is_automatic_forward")] public bool? IsAutomaticForward { get; init; }
    [JsonPropertyName("reply_to_message")] public Message? ReplyToMessage { get; init; }
    [JsonPropertyName("via_bot")] public User? ViaBot { get; init; }
    [JsonPropertyName("edit_date")] public long? EditDate { get; init; }
    [JsonPropertyName("media_group_id")] public string? MediaGroupId { get; init; }
    [JsonPropertyName("text")] public string? Text { get; init; }
    [JsonPropertyName("entities")] public IReadOnlyList<MessageEntity>? Entities { get; init; }
    [JsonPropertyName("caption")] public string? Caption { get; init; }
    [JsonPropertyName("caption_entities")] public IReadOnlyList<MessageEntity>? CaptionEntities { get; init; }
    [JsonPropertyName("animation")] public Animation? Animation { get; init; }
    [JsonPropertyName("audio")] public Audio? Audio { get; init; }
    [JsonPropertyName("document")] public Document? Document { get; init; }
    [JsonPropertyName("photo")] public IReadOnlyList<PhotoSize>? Photo { get; init; }
    [JsonPropertyName("sticker")] public Sticker? Sticker { get; init; }
    [JsonPropertyName("video")] public Video? Video { get; init; }
    [JsonPropertyName("video_note")] public VideoNote? VideoNote { get; init; }
    [JsonPropertyName("voice")] public Voice? Voice { get; init; }
    [JsonPropertyName("contact")] public Contact? Contact { get; init; }
    [JsonPropertyName("dice")] public Dice? Dice { get; init; }
    [JsonPropertyName("poll")] public Poll? Poll { get; init; }
    [JsonPropertyName("venue")] public Venue? Venue { get; init; }
    [JsonPropertyName("location")] public Location? Location { get; init; }
    [JsonPropertyName("new_chat_members")] public IReadOnlyList<User>? NewChatMembers { get; init; }
    [JsonPropertyName("left_chat_member")] public User? LeftChatMember { get; init; }
    [JsonPropertyName("new_chat_title")] public string? NewChatTitle { get; init; }
    [JsonPropertyName("new_chat_photo")] public IReadOnlyList<PhotoSize>? NewChatPhoto { get; init; }
    [JsonPropertyName("delete_chat_photo")] public bool? DeleteChatPhoto { get; init; }
    [JsonPropertyName("group_chat_created")] public bool? GroupChatCreated { get; init; }
    [JsonPropertyName("supergroup_chat_created")] public bool? SupergroupChatCreated { get; init; }
    [JsonPropertyName("migrate_to_chat_id")] public long? MigrateToChatId { get; init; }
    [JsonPropertyName("migrate_from_chat_id")] public long? MigrateFromChatId { get; init; }
    [JsonPropertyName("pinned_message")] public PinnedMessage? PinnedMessage { get; init; }

    [JsonIgnore] public bool IsForwarded => ForwardOrigin is not null || ForwardFrom is not null || ForwardDate is not null;

    /// <summary>True for messages that only record something happening to the chat (joins, title changes, pins…).</summary>
    [JsonIgnore]
    public bool IsService => NewChatMembers is { Count: > 0 } || LeftChatMember is not null || NewChatTitle is not null
        || NewChatPhoto is not null || DeleteChatPhoto == true || GroupChatCreated == true || SupergroupChatCreated == true
        || MigrateToChatId is not null || MigrateFromChatId is not null || PinnedMessage is not null;

    [JsonIgnore]
    public MessageKind Kind => this switch
    {
        { Animation: not null } => MessageKind.Animation,
        { Photo.Count: > 0 } => MessageKind.Photo,
        { Sticker: not null } => MessageKind.Sticker,
        { Voice: not null } => MessageKind.Voice,
        { VideoNote: not null } => MessageKind.VideoNote,
        { Video: not null } => MessageKind.Video,
        { Audio: not null } => MessageKind.Audio,
        { Document: not null } => MessageKind.Document,
        { Poll: not null } => MessageKind.Poll,
        { Location: not null } or { Venue: not null } => MessageKind.Location,
        { Contact: not null } => MessageKind.Contact,
        { Dice: not null } => MessageKind.Dice,
        { Text: not null } => MessageKind.Text,
        _ => MessageKind.Other,
    };

    /// <summary>The text a person wrote: the message text or a media caption.</summary>
    [JsonIgnore] public string? TextOrCaption => Text ?? Caption;
}

/// <summary>What a message carries. The numbers are stored; never renumber.</summary>
public enum MessageKind : short
{
    Text = 0,
    Photo = 1,
    Sticker = 2,
    Voice = 3,
    Video = 4,
    VideoNote = 5,
    Audio = 6,
    Document = 7,
    Animation = 8,
    Poll = 9,
    Location = 10,
    Contact = 11,
    Dice = 12,
    Other = 13,
}
