using System.Collections.Concurrent;
using System.Globalization;
using SkiaSharp;

namespace ChatStats.Bot.Charts;

/// <summary>
/// How wide a line of chart text will be when drawn, measured with the fonts the PNG is drawn with (the charts' first
/// font, and for a character it lacks the font fontconfig offers for it, as the renderer does), so charts are laid out
/// from measured text rather than guessed character counts. Without SkiaSharp it estimates generously.
/// </summary>
internal static class ChartText
{
    private static readonly Lazy<SKTypeface?> Regular = new(() => Load(SKFontStyle.Normal));
    private static readonly Lazy<SKTypeface?> Bold = new(() => Load(SKFontStyle.Bold));
    private static readonly ConcurrentDictionary<(int CodePoint, bool Bold), SKTypeface?> Fallbacks = new();

    private static SKTypeface? Load(SKFontStyle style)
    {
        if (ChartRenderer.NativeProblem is not null)
        {
            return null;
        }
        foreach (var family in SvgChart.Families)
        {
            if (SKFontManager.Default.MatchFamily(family, style) is { } typeface)
            {
                return typeface;
            }
        }
        return SKTypeface.Default;
    }

    /// <summary>The width of <paramref name="text"/> at <paramref name="size"/> px.</summary>
    public static double Width(string text, double size, bool bold = false)
    {
        if ((bold ? Bold : Regular).Value is not { } primary)
        {
            // Estimated: wide scripts a full em, the rest about two thirds.
            return text.EnumerateRunes().Sum(r => r.Value >= 0x1100 ? size : size * 0.66);
        }
        using var main = new SKFont(primary, (float)size);
        var width = 0.0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (main.ContainsGlyph(rune.Value))
            {
                width += main.MeasureText(rune.ToString());
                continue;
            }
            var fallback = Fallbacks.GetOrAdd((rune.Value, bold), key =>
                SKFontManager.Default.MatchCharacter(null, key.Bold ? SKFontStyle.Bold : SKFontStyle.Normal, null, key.CodePoint));
            using var font = new SKFont(fallback ?? primary, (float)size);
            width += font.MeasureText(rune.ToString());
        }
        return width;
    }

    /// <summary>
    /// <paramref name="text"/> as it fits in <paramref name="width"/> px: whole, or cut at a text element with an ellipsis.
    /// </summary>
    public static string Fit(string text, double width, double size, bool bold = false)
    {
        if (Width(text, size, bold) <= width)
        {
            return text;
        }
        // The longest prefix that fits with its ellipsis, found by halving (widths grow with length).
        var info = new StringInfo(text);
        var (fits, tooLong) = (0, info.LengthInTextElements);
        while (tooLong - fits > 1)
        {
            var n = (fits + tooLong) / 2;
            if (Width(info.SubstringByTextElements(0, n).TrimEnd() + "…", size, bold) <= width)
            {
                fits = n;
            }
            else
            {
                tooLong = n;
            }
        }
        if (fits > 0)
        {
            return info.SubstringByTextElements(0, fits).TrimEnd() + "…";
        }
        return "…";
    }
}
