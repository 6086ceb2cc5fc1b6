using ChatStats.Telegram.Sending;
using ChatStats.Telegram.Types;

namespace ChatStats.Bot.Commands;

/// <summary>The bot was added to or removed from a chat.</summary>
internal sealed class MembershipHandler(MessageSender sender, ILogger<MembershipHandler> logger)
{
    public async Task HandleAsync(ChatMemberUpdated change, CancellationToken ct)
    {
        var joined = !change.OldChatMember.IsPresent && change.NewChatMember.IsPresent;
        if (!change.Chat.IsGroup)
        {
            return;
        }
        if (joined)
        {
            logger.LogInformation("Added to chat {ChatId} by user {UserId}", change.Chat.Id, change.From.Id);
            var culture = Localizer.Choose(null, change.From.LanguageCode);
            await sender.SendTextAsync(new OutgoingMessage { ChatId = change.Chat.Id, Text = Localizer.Get("Welcome", culture) }, ct);
        }
        else if (change.OldChatMember.IsPresent && !change.NewChatMember.IsPresent)
        {
            logger.LogInformation("Removed from chat {ChatId} ({Status})", change.Chat.Id, change.NewChatMember.Status);
        }
    }
}
