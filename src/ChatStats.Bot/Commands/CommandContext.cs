using System.Globalization;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

/// <summary>Everything a command handler needs about the message that invoked it.</summary>
/// <param name="Chat">The chat as recorded, read once by the router for every command of a group; null in private chats.</param>
/// <param name="AskedBy">How many people asked this same chat-wide question while it waited; the answer says so when more than one.</param>
internal sealed record CommandContext(Message Message, ParsedCommand Command, CultureInfo Culture, Stats.ChatInfo? Chat = null, int AskedBy = 1)
{
    public long ChatId => Message.Chat.Id;
    public bool IsGroup => Message.Chat.IsGroup();
    public string T(string key) => Localizer.Get(key, Culture);
    public string T(string key, params object?[] args) => Localizer.Format(key, Culture, args);

    /// <summary>The answer as sent: with a last line saying how many asked, when several did.</summary>
    public string Answer(string html) => AskedBy > 1 ? $"{html}\n<i>{Html.Escape(T("AskedBy", AskedBy))}</i>" : html;
}

internal interface IBotCommand
{
    /// <summary>Lower-case name without the slash.</summary>
    string Name { get; }

    /// <summary>Resource key of the one-line description shown in /help and Telegram's command menu.</summary>
    string DescriptionKey { get; }

    /// <summary>Heavy statistics count against the stricter per-user limit (Limits:HeavyPerUser).</summary>
    bool IsHeavy => false;

    /// <summary>Work that spends a unit of the chat's daily quota (Limits:DailyHeavyQuota): reports, AI summaries.</summary>
    bool UsesDailyQuota => false;

    /// <summary>
    /// The answer depends only on the chat and the arguments, never on who asks: identical questions waiting in a chat
    /// are answered once (per-person commands such as /me, and anything that acts for the asker, are not).
    /// </summary>
    bool ChatWide => false;

    Task ExecuteAsync(CommandContext context, CancellationToken ct);
}
