using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

/// <summary>Tells when two updates ask the same chat-wide question, so the dispatcher can answer them once.</summary>
internal interface IQuestionKeys
{
    /// <summary>
    /// A key equal for updates whose answer would be the same message, or null when the update's answer is its own
    /// (per-person commands, anything not a chat-wide command).
    /// </summary>
    string? KeyOf(Update update);
}

/// <summary>
/// Chat-wide commands (<see cref="IBotCommand.ChatWide"/>) asked with the same arguments, in the same forum topic and by
/// readers of the same language, are the same question. Arguments compare without regard to case or spacing: "/top 7D"
/// and "/top  7d" are one question.
/// </summary>
internal sealed class QuestionKeys(IServiceScopeFactory scopes, BotIdentity identity) : IQuestionKeys
{
    // Commands are scoped services; which of them are chat-wide is fixed, so read it once.
    private readonly Lazy<HashSet<string>> _chatWide = new(() =>
    {
        using var scope = scopes.CreateScope();
        return [.. scope.ServiceProvider.GetServices<IBotCommand>().Where(c => c.ChatWide).Select(c => c.Name)];
    });

    public string? KeyOf(Update update)
    {
        if (update.Message is not { } message || CommandParser.Parse(message.Text, identity.Username) is not { } parsed || !_chatWide.Value.Contains(parsed.Name))
        {
            return null;
        }
        var arguments = string.Join(' ', parsed.Arguments.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        // The answer's language may follow the asker's when the chat has none set; askers of one language share it.
        var language = Localizer.Choose(null, message.From?.LanguageCode).TwoLetterISOLanguageName;
        return $"{parsed.Name}\n{arguments}\n{message.TopicId()}\n{language}";
    }
}
