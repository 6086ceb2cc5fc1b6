using System.Globalization;
using System.Text;

namespace ChatStats.Bot.Commands;

/// <summary>Escaping for Telegram's HTML parse mode, which knows only &amp;lt; &amp;gt; &amp;amp; &amp;quot; and numeric entities.</summary>
internal static class Html
{
    /// <summary>
    /// Text from members (names, titles, what they typed) made safe to put in a reply: markup escaped, and what would
    /// change the reply around it dropped — control codes (a line break stays) and the bidi embeddings, overrides and
    /// isolates that would turn the rest of the bot's line right to left. A lone surrogate, which Telegram refuses as
    /// not UTF-8, becomes U+FFFD.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        if (!NeedsWork(text))
        {
            return text;
        }
        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                continue;
            }
            sb.Append(c switch
            {
                '<' => "&lt;",
                '>' => "&gt;",
                '&' => "&amp;",
                '"' => "&quot;",
                '\t' => " ",
                _ when char.IsSurrogate(c) => "\uFFFD",
                _ when IsDropped(c) => "",
                _ => null,
            } ?? c.ToString());
        }
        return sb.ToString();
    }

    /// <summary>
    /// What a member typed, quoted back to them: escaped as <see cref="Escape"/> does, and shortened to
    /// <paramref name="max"/> characters, so that a 4,096-character argument cannot push the answer past Telegram's limit.
    /// </summary>
    public static string Quote(string? text, int max = 64)
    {
        if (text is null || text.Length <= max)
        {
            return Escape(text);
        }
        // Whole characters only (an emoji, a letter with its accents).
        var cut = 0;
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext() && elements.ElementIndex + elements.GetTextElement().Length <= max)
        {
            cut = elements.ElementIndex + elements.GetTextElement().Length;
        }
        return Escape(text[..cut]) + "…";
    }

    private static bool NeedsWork(string text)
    {
        foreach (var c in text)
        {
            if (c is '<' or '>' or '&' or '"' || char.IsSurrogate(c) || char.IsControl(c) || IsBidiControl(c))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsDropped(char c) => (char.IsControl(c) && c != '\n') || IsBidiControl(c);

    /// <summary>U+202A–U+202E (embeddings, overrides) and U+2066–U+2069 (isolates); the marks U+200E/U+200F stay, they affect one place only.</summary>
    internal static bool IsBidiControl(char c) => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';
}
