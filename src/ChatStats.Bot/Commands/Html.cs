using System.Text;

namespace ChatStats.Bot.Commands;

/// <summary>Escaping for Telegram's HTML parse mode, which knows only &amp;lt; &amp;gt; &amp;amp; &amp;quot; and numeric entities.</summary>
internal static class Html
{
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        if (text.AsSpan().IndexOfAny("<>&\"") < 0)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '<' => "&lt;",
                '>' => "&gt;",
                '&' => "&amp;",
                '"' => "&quot;",
                _ => null,
            } ?? c.ToString());
        }
        return sb.ToString();
    }
}
