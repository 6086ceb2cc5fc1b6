using Telegram.Bot.Types;

namespace ChatStats.Telegram.Receiving;

/// <summary>
/// The fields the Bot API always sends, checked on an update Telegram.Bot has read. The library does not require them
/// (a <c>"chat": null</c> reads as a message without a chat), so a forged or damaged update would otherwise reach code
/// that rightly relies on them, fail there, and take its whole chunk with it. An update missing one is unreadable, like
/// one the library refuses.
/// </summary>
public static class UpdateShape
{
    /// <summary>What required field is missing, or null when the update has all those its kind needs.</summary>
    public static string? Problem(Update update) =>
        Message(update.Message, "message") ?? Message(update.EditedMessage, "edited_message")
        ?? Message(update.ChannelPost, "channel_post") ?? Message(update.EditedChannelPost, "edited_channel_post")
        ?? MemberUpdate(update.MyChatMember, "my_chat_member") ?? MemberUpdate(update.ChatMember, "chat_member")
        ?? (update.CallbackQuery is { } query
            ? query.From is null ? "callback_query.from is missing" : query.Message is { Chat: null } ? "callback_query.message.chat is missing" : null
            : null)
        ?? (update.MessageReaction is { Chat: null } ? "message_reaction.chat is missing" : null)
        ?? (update.MessageReactionCount is { Chat: null } ? "message_reaction_count.chat is missing" : null);

    private static string? Message(Message? message, string path, int depth = 0)
    {
        if (message is null)
        {
            return null;
        }
        if (message.Chat is null)
        {
            return $"{path}.chat is missing";
        }
        if (message.From is { } from && User(from, $"{path}.from") is { } fromProblem)
        {
            return fromProblem;
        }
        if (message.NewChatMembers is { } members)
        {
            for (var i = 0; i < members.Length; i++)
            {
                if (User(members[i], $"{path}.new_chat_members[{i}]") is { } memberProblem)
                {
                    return memberProblem;
                }
            }
        }
        if (message.LeftChatMember is { } left && User(left, $"{path}.left_chat_member") is { } leftProblem)
        {
            return leftProblem;
        }
        if (message.Entities?.Contains(null!) == true || message.CaptionEntities?.Contains(null!) == true || message.Photo?.Contains(null!) == true)
        {
            return $"{path} holds a list with a null in it";
        }
        if (message.PinnedMessage is { Chat: null })
        {
            return $"{path}.pinned_message.chat is missing";
        }
        // A reply carries the message it answers, which carries none further: two levels are all Telegram sends.
        return depth == 0 ? Message(message.ReplyToMessage, $"{path}.reply_to_message", depth + 1) : null;
    }

    private static string? MemberUpdate(ChatMemberUpdated? change, string path) => change switch
    {
        null => null,
        { Chat: null } => $"{path}.chat is missing",
        { From: null } => $"{path}.from is missing",
        { OldChatMember: null } => $"{path}.old_chat_member is missing",
        { NewChatMember: null } => $"{path}.new_chat_member is missing",
        _ => User(change.From, $"{path}.from") ?? User(change.OldChatMember.User, $"{path}.old_chat_member.user") ?? User(change.NewChatMember.User, $"{path}.new_chat_member.user"),
    };

    private static string? User(User? user, string path) => user switch
    {
        null => $"{path} is missing",
        { FirstName: null } => $"{path}.first_name is missing",
        _ => null,
    };
}
