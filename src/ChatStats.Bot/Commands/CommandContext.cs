using System.Globalization;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Commands;

/// <summary>Everything a command handler needs about the message that invoked it.</summary>
/// <param name="Chat">The chat as recorded, read once by the router for every command of a group; null in private chats.</param>
internal sealed record CommandContext(Message Message, ParsedCommand Command, CultureInfo Culture, Stats.ChatInfo? Chat = null)
{
    public long ChatId => Message.Chat.Id;
    public bool IsGroup => Message.Chat.IsGroup();
    public string T(string key) => Localizer.Get(key, Culture);
    public string T(string key, params object?[] args) => Localizer.Format(key, Culture, args);
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

    Task ExecuteAsync(CommandContext context, CancellationToken ct);
}
