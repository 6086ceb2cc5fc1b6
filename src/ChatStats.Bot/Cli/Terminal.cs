namespace ChatStats.Bot.Cli;

/// <summary>Text from chats (titles, names, what an export holds) made safe to print on an operator's terminal.</summary>
internal static class Terminal
{
    /// <summary>"1 message", "2 messages", "1,204 messages": the CLI speaks English, whose words agree with their number.</summary>
    public static string Count(long n, string one, string? many = null) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{n:N0} {(n == 1 ? one : many ?? one + "s")}");

    /// <summary>
    /// Control codes (an escape sequence can recolour, retitle or clear a terminal) and bidi overrides become U+FFFD;
    /// the text stays on one line.
    /// </summary>
    public static string Safe(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(IsUnsafe))
        {
            return text ?? "";
        }
        return string.Create(text.Length, text, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = IsUnsafe(source[i]) ? '\uFFFD' : source[i];
            }
        });
    }

    private static bool IsUnsafe(char c) => char.IsControl(c) || Presentation.Html.IsBidiControl(c);
}
