using System.Text;

namespace ChatStats.Bot.Ingest;

/// <summary>Counting and cleaning of the text people write.</summary>
internal static class TextStats
{
    /// <summary>Words are whitespace-separated tokens with at least one letter or digit, in any script.</summary>
    public static int CountWords(ReadOnlySpan<char> text)
    {
        var words = 0;
        var inToken = false;
        var tokenHasLetter = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                if (inToken && tokenHasLetter)
                {
                    words++;
                }
                inToken = false;
                tokenHasLetter = false;
            }
            else
            {
                inToken = true;
                tokenHasLetter |= char.IsLetterOrDigit(c) || char.IsSurrogate(c);
            }
        }
        return inToken && tokenHasLetter ? words + 1 : words;
    }

    /// <summary>Characters as people count them: Unicode code points, so an emoji counts once.</summary>
    public static int CountChars(ReadOnlySpan<char> text)
    {
        var count = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsLowSurrogate(text[i]) || i == 0 || !char.IsHighSurrogate(text[i - 1]))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>
    /// Makes text storable in PostgreSQL: drops NUL characters (text columns refuse them) and replaces lone surrogates
    /// (which have no UTF-8 encoding). Returns the same instance when nothing needed cleaning.
    /// </summary>
    public static string? Clean(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var dirty = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || (char.IsHighSurrogate(c) && (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))) ||
                (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1]))))
            {
                dirty = true;
                break;
            }
            if (char.IsHighSurrogate(c))
            {
                i++;
            }
        }
        if (!dirty)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                continue;
            }
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                sb.Append('\uFFFD');
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
