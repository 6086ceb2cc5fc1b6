using ChatStats.Bot.Data;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Bot.Telegram;

/// <summary>What ChatStats reads off Telegram.Bot's types: which chats are groups, which messages count and as what.</summary>
internal static class BotApiTypes
{
    public static bool IsGroup(this Chat chat) => chat.Type is ChatType.Group or ChatType.Supergroup;

    /// <summary>The Bot API's name of the chat type, as stored in <c>chats.type</c>.</summary>
    public static string TypeName(this Chat chat) => chat.Type switch
    {
        ChatType.Private => "private",
        ChatType.Group => "group",
        ChatType.Supergroup => "supergroup",
        ChatType.Channel => "channel",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>The Bot API's name of a member status, as stored in <c>chats.bot_status</c>.</summary>
    public static string StatusName(this ChatMember member) => member.Status switch
    {
        ChatMemberStatus.Creator => "creator",
        ChatMemberStatus.Administrator => "administrator",
        ChatMemberStatus.Member => "member",
        ChatMemberStatus.Restricted => "restricted",
        ChatMemberStatus.Left => "left",
        ChatMemberStatus.Kicked => "kicked",
        var other => other.ToString().ToLowerInvariant(),
    };

    public static string FullName(this User user) => string.IsNullOrEmpty(user.LastName) ? user.FirstName : $"{user.FirstName} {user.LastName}";

    /// <summary>The text a person wrote: the message text or a media caption.</summary>
    public static string? TextOrCaption(this Message message) => message.Text ?? message.Caption;

    public static bool IsForwarded(this Message message) => message.ForwardOrigin is not null;

    /// <summary>The forum topic a reply belongs in, or null outside forum topics.</summary>
    public static int? TopicId(this Message message) => message.IsTopicMessage ? message.MessageThreadId : null;

    /// <summary>True for messages that only record something happening to the chat (joins, title changes, pins…).</summary>
    public static bool IsService(this Message m) => m.NewChatMembers is { Length: > 0 } || m.LeftChatMember is not null || m.NewChatTitle is not null
        || m.NewChatPhoto is not null || m.DeleteChatPhoto == true || m.GroupChatCreated == true || m.SupergroupChatCreated == true
        || m.MigrateToChatId is not null || m.MigrateFromChatId is not null || m.PinnedMessage is not null;

    public static MessageKind Kind(this Message m) => m switch
    {
        // Telegram sends an animation with a document field too: it counts as an animation.
        { Animation: not null } => MessageKind.Animation,
        { Photo.Length: > 0 } => MessageKind.Photo,
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

    /// <summary>The chat an update belongs to, used to keep one chat's updates in order.</summary>
    public static long? ChatId(this Update update) => (update.Message ?? update.EditedMessage ?? update.ChannelPost ?? update.EditedChannelPost)?.Chat.Id
        ?? update.CallbackQuery?.Message?.Chat.Id
        ?? update.MyChatMember?.Chat.Id
        ?? update.ChatMember?.Chat.Id
        ?? update.MessageReaction?.Chat.Id
        ?? update.MessageReactionCount?.Chat.Id;
}
