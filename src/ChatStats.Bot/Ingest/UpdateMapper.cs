using ChatStats.Bot.Data;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Ingest;

/// <summary>Turns one update into rows. Throws for an update that cannot be recorded; the caller dead-letters it.</summary>
internal static class UpdateMapper
{
    public static void Map(Update update, IngestBatch batch, bool storeText)
    {
        switch (update)
        {
            case { Message: { } m }:
                MapMessage(m, batch, storeText, isEdit: false);
                break;
            case { EditedMessage: { } m }:
                MapMessage(m, batch, storeText, isEdit: true);
                break;
            case { ChannelPost: { } post }:
                // Channels are not group chats: remember the chat, count nothing.
                batch.Chats.Add(ToChatRow(post.Chat, ToUtc(post.Date)));
                break;
            case { EditedChannelPost: { } post }:
                batch.Chats.Add(ToChatRow(post.Chat, ToUtc(post.Date)));
                break;
            case { MyChatMember: { } member }:
                batch.Chats.Add(ToChatRow(member.Chat, ToUtc(member.Date)));
                AddUser(batch, member.From, ToUtc(member.Date));
                batch.BotStatuses.Add(new BotStatusRow(member.Chat.Id, member.NewChatMember.StatusName(), ToUtc(member.Date)));
                break;
            case { ChatMember: { } member }:
                batch.Chats.Add(ToChatRow(member.Chat, ToUtc(member.Date)));
                AddUser(batch, member.NewChatMember.User, ToUtc(member.Date));
                break;
            case { CallbackQuery: { } query }:
                AddUser(batch, query.From, DateTime.UtcNow);
                break;
            case { MessageReaction: { User: { } user } reaction }:
                AddUser(batch, user, ToUtc(reaction.Date));
                break;
            default:
                // Reaction counts, and update kinds newer than the library (it reads them as Unknown), carry nothing to record yet.
                break;
        }
    }

    private static void MapMessage(Message m, IngestBatch batch, bool storeText, bool isEdit)
    {
        var sentAt = ToUtc(m.Date);
        if (!m.Chat.IsGroup())
        {
            // Private chats with the bot are for commands; their content is not group activity.
            if (m.From is { } sender)
            {
                AddUser(batch, sender, sentAt);
            }
            return;
        }

        batch.Chats.Add(ToChatRow(m.Chat, sentAt));
        if (m.From is { } from)
        {
            AddUser(batch, from, sentAt);
        }
        if (m.ReplyToMessage?.From is { } repliedTo)
        {
            AddUser(batch, repliedTo, ToUtc(m.ReplyToMessage.Date));
        }

        if (m.IsService())
        {
            if (!isEdit)
            {
                MapServiceMessage(m, batch, sentAt);
            }
            return;
        }

        var text = TextStats.Clean(m.TextOrCaption());
        var counted = m.From is { IsBot: false } && m.SenderChat is null && !m.IsAutomaticForward;
        batch.Messages.Add(new MessageRow(
            ChatId: m.Chat.Id,
            MessageId: m.MessageId,
            SenderUserId: m.From?.Id,
            SenderChatId: m.SenderChat?.Id,
            SentAt: sentAt,
            Kind: (short)m.Kind(),
            Text: storeText ? text : null,
            CharCount: text is null ? 0 : TextStats.CountChars(text),
            WordCount: text is null ? 0 : TextStats.CountWords(text),
            ReplyToMessageId: m.ReplyToMessage?.MessageId,
            ReplyToUserId: m.ReplyToMessage?.From?.Id,
            IsForwarded: m.IsForwarded(),
            ThreadId: m.TopicId(),
            EditedAt: m.EditDate is { } edited ? ToUtc(edited) : (isEdit ? sentAt : null),
            Counted: counted,
            IsEdit: isEdit));
    }

    private static void MapServiceMessage(Message m, IngestBatch batch, DateTime at)
    {
        short seq = 0;
        void Add(ServiceEventKind kind, long? target = null, string? data = null) =>
            batch.Events.Add(new EventRow(m.Chat.Id, m.MessageId, seq++, (short)kind, m.From?.Id, target, TextStats.Clean(data), at));

        if (m.NewChatMembers is { } joined)
        {
            foreach (var user in joined)
            {
                AddUser(batch, user, at);
                Add(ServiceEventKind.Joined, user.Id);
            }
        }
        if (m.LeftChatMember is { } left)
        {
            AddUser(batch, left, at);
            Add(ServiceEventKind.Left, left.Id);
        }
        if (m.NewChatTitle is { } title)
        {
            Add(ServiceEventKind.TitleChanged, data: title);
        }
        if (m.PinnedMessage is { } pinned)
        {
            Add(ServiceEventKind.Pinned, data: pinned.MessageId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (m.NewChatPhoto is not null || m.DeleteChatPhoto == true)
        {
            Add(ServiceEventKind.PhotoChanged);
        }
        if (m.GroupChatCreated == true || m.SupergroupChatCreated == true)
        {
            Add(ServiceEventKind.Created, data: m.Chat.Title);
        }
        if (m.MigrateToChatId is { } to)
        {
            Add(ServiceEventKind.MigratedTo, data: to.ToString(System.Globalization.CultureInfo.InvariantCulture));
            batch.Migrations.Add(new MigrationRow(m.Chat.Id, to));
        }
        if (m.MigrateFromChatId is { } from)
        {
            Add(ServiceEventKind.MigratedFrom, data: from.ToString(System.Globalization.CultureInfo.InvariantCulture));
            batch.Migrations.Add(new MigrationRow(from, m.Chat.Id));
        }
    }

    private static void AddUser(IngestBatch batch, User user, DateTime at) =>
        batch.Users.Add(new UserRow(user.Id, user.IsBot, TextStats.Clean(user.FirstName) ?? "", TextStats.Clean(user.LastName),
            TextStats.Clean(user.Username), TextStats.Clean(user.LanguageCode), at));

    private static ChatRow ToChatRow(Chat chat, DateTime at) =>
        new(chat.Id, chat.TypeName(), TextStats.Clean(chat.Title), TextStats.Clean(chat.Username), chat.IsForum, at);

    /// <summary>
    /// Telegram dates are Unix seconds, which the library reads as UTC; one before the Unix epoch (or missing, which
    /// the library reads as year 1) makes the update unrecordable.
    /// </summary>
    internal static DateTime ToUtc(DateTime date)
    {
        if (date < DateTime.UnixEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(date), date, "date is not a valid Unix time");
        }
        return DateTime.SpecifyKind(date, DateTimeKind.Utc);
    }
}
