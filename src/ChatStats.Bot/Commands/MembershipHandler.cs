using ChatStats.Bot.Telegram;
using ChatStats.Bot.Throttling;
using ChatStats.Telegram.Sending;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

/// <summary>The bot was added to or removed from a chat.</summary>
internal sealed class MembershipHandler(MessageSender sender, ITelegramBotClient client, CapacityMonitor capacity, ILogger<MembershipHandler> logger)
{
    public async Task HandleAsync(ChatMemberUpdated change, CancellationToken ct)
    {
        var joined = !change.OldChatMember.IsInChat && change.NewChatMember.IsInChat;
        if (!change.Chat.IsGroup())
        {
            return;
        }
        if (joined && capacity.IsRefused(change.Chat.Id))
        {
            var snapshot = capacity.Snapshot;
            logger.LogWarning("Refused chat {ChatId}: the server is full ({Current}/{Max} active chats)", change.Chat.Id, snapshot?.Current, capacity.Max);
            var text = Localizer.Format("ServerFull", Localizer.Choose(null, change.From.LanguageCode), snapshot?.Current ?? capacity.Max, capacity.Max);
            try
            {
                await sender.SendTextAsync(new OutgoingMessage { ChatId = change.Chat.Id, Text = Html.Escape(text) }, ct);
            }
            finally
            {
                try
                {
                    await client.LeaveChat(change.Chat.Id, ct);
                }
                catch (RequestException ex)
                {
                    logger.LogWarning("Could not leave refused chat {ChatId}: {Error}", change.Chat.Id, ex.Message);
                }
            }
        }
        else if (joined)
        {
            logger.LogInformation("Added to chat {ChatId} by user {UserId}", change.Chat.Id, change.From.Id);
            var culture = Localizer.Choose(null, change.From.LanguageCode);
            await sender.SendTextAsync(new OutgoingMessage { ChatId = change.Chat.Id, Text = Localizer.Get("Welcome", culture) }, ct);
        }
        else if (change.OldChatMember.IsInChat && !change.NewChatMember.IsInChat)
        {
            logger.LogInformation("Removed from chat {ChatId} ({Status})", change.Chat.Id, change.NewChatMember.StatusName());
        }
    }
}
