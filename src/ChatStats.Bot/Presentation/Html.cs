using System.Globalization;
using System.Text;

namespace ChatStats.Bot.Presentation;

/// <summary>
/// Escaping for Telegram's HTML parse mode, which knows only &amp;lt; &amp;gt; &amp;amp; &amp;quot; and numeric entities:
/// <see cref="Escape"/> for any text, <see cref="Name"/> for a name or title set among the bot's words, <see cref="Quote"/>
/// for what a member typed, shortened.
/// </summary>
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
    /// A name or title from Telegram put among the bot's own words (a leaderboard line, a heading): escaped as
    /// <see cref="Escape"/> does and, when it holds right-to-left letters, isolated (U+2068 … U+2069) so that it cannot
    /// carry the numbers and punctuation after it into its direction, nor turn the whole line right to left ("1. دانا —
    /// 120" stays in that order). A name with nothing visible left becomes "?".
    /// </summary>
    public static string Name(string? text, int max = 128)
    {
        // One line: a title's line break would end the isolate's line with it open.
        var escaped = Quote(text, max).Replace('\n', ' ');
        if (escaped.All(c => char.IsWhiteSpace(c) || IsInvisible(c)))
        {
            return "?";
        }
        return escaped.Any(IsRightToLeft) ? $"{FirstStrongIsolate}{escaped}{PopDirectionalIsolate}" : escaped;
    }

    public const char FirstStrongIsolate = '\u2068';
    public const char PopDirectionalIsolate = '\u2069';

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
            if (c is '<' or '>' or '&' or '"' || char.IsSurrogate(c) || char.IsControl(c) || IsBidiControl(c) || IsInvisible(c))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsDropped(char c) => (char.IsControl(c) && c != '\n') || IsBidiControl(c) || IsInvisible(c);

    /// <summary>
    /// Zero-width characters that join or shape nothing: the zero-width space, the word joiner and invisible operators,
    /// the byte-order mark, the Mongolian vowel separator. They can make a name look empty or two names look alike.
    /// ZWJ and ZWNJ (U+200C, U+200D) stay: emoji sequences and Persian and Indic spelling need them.
    /// </summary>
    private static bool IsInvisible(char c) => c is '\u200B' or (>= '\u2060' and <= '\u2064') or '\uFEFF' or '\u180E';

    /// <summary>Letters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko… and their presentation forms); a surrogate of the supplementary RTL block.</summary>
    private static bool IsRightToLeft(char c) =>
        c is (>= '\u0590' and <= '\u08FF') or (>= '\uFB1D' and <= '\uFDFF') or (>= '\uFE70' and <= '\uFEFE')
        // U+10800–U+10FFF and U+1E800–U+1EFFF: high surrogates D802–D803 and D83A–D83B.
        or (>= '\uD802' and <= '\uD803') or (>= '\uD83A' and <= '\uD83B');

    /// <summary>U+202A–U+202E (embeddings, overrides) and U+2066–U+2069 (isolates); the marks U+200E/U+200F stay, they affect one place only.</summary>
    internal static bool IsBidiControl(char c) => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';
}
