using Telegram.Bot.Types;

namespace ChatStats.Bot.Commands;

/// <param name="Name">The command without slash or mention, lower case: "stats".</param>
/// <param name="Arguments">Everything after the command, trimmed.</param>
internal sealed record ParsedCommand(string Name, string Arguments);

internal static class CommandParser
{
    public static bool LooksLikeCommand(Message message) => message.Text is ['/', _, ..];

    /// <summary>
    /// Reads "/name@bot args". Returns null when the text is not a command or is addressed to another bot:
    /// in a group with several bots, "/stats@OtherBot" is none of our business.
    /// </summary>
    public static ParsedCommand? Parse(string? text, string? botUsername)
    {
        if (text is not ['/', _, ..])
        {
            return null;
        }
        var end = 1;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            end++;
        }
        var token = text[1..end];
        var at = token.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            var mention = token[(at + 1)..];
            if (botUsername is null || !mention.Equals(botUsername, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            token = token[..at];
        }
        if (token.Length is 0 or > 32 || !token.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return null;
        }
        return new ParsedCommand(token.ToLowerInvariant(), text[end..].Trim());
    }
}
