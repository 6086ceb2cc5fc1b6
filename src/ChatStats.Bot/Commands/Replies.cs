using ChatStats.Telegram.Sending;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Commands;

/// <summary>Answers in the chat and forum topic a command came from, as a reply to it.</summary>
internal sealed class Replies(MessageSender sender)
{
    /// <summary>Answers the command of <paramref name="context"/>, saying how many asked when several did.</summary>
    public Task SendAsync(CommandContext context, string html, CancellationToken ct) => SendAsync(context.Message, context.Answer(html), ct);

    public Task SendAsync(Message to, string html, CancellationToken ct) =>
        sender.SendTextAsync(new OutgoingMessage
        {
            ChatId = to.Chat.Id,
            Text = html,
            MessageThreadId = to.IsTopicMessage == true ? to.MessageThreadId : null,
            ReplyToMessageId = to.MessageId,
        }, ct);
}
