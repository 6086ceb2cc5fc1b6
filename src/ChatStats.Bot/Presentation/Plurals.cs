using System.Globalization;

namespace ChatStats.Bot.Presentation;

/// <summary>
/// Words that agree with their number, written in the resource strings as <c>{0:plural(day|days)}</c> — the forms in
/// the order of the language's plural categories (CLDR): English one|other, Russian one|few|many
/// (<c>{0:plural(день|дня|дней)}</c>: 1 день, 2 дня, 5 дней, 11 дней, 21 день). The number itself is written by its
/// own placeholder; this one writes only the word. A language added with a resource file adds its rule here.
/// </summary>
internal sealed class Plurals(CultureInfo culture) : IFormatProvider, ICustomFormatter
{
    private const string Prefix = "plural(";

    public object? GetFormat(Type? formatType) =>
        formatType == typeof(ICustomFormatter) ? this : culture.GetFormat(formatType);

    public string Format(string? format, object? arg, IFormatProvider? formatProvider)
    {
        if (format is not null && format.StartsWith(Prefix, StringComparison.Ordinal) && format.EndsWith(')'))
        {
            var forms = format[Prefix.Length..^1].Split('|');
            return forms[Math.Min(Category(culture, Number(arg)), forms.Length - 1)];
        }
        return arg switch
        {
            IFormattable formattable => formattable.ToString(format, culture),
            null => "",
            _ => arg.ToString() ?? "",
        };
    }

    /// <summary>
    /// The index of the form for <paramref name="n"/> (null: a fraction or not a number, which take the last form in
    /// English and the "few" form in Russian, as in "1,5 дня").
    /// </summary>
    public static int Category(CultureInfo culture, long? n)
    {
        switch (culture.TwoLetterISOLanguageName)
        {
            case "ru":
                if (n is not { } r)
                {
                    return 1;
                }
                r = Math.Abs(r);
                return (r % 10, r % 100) switch
                {
                    (1, not 11) => 0,
                    ( >= 2 and <= 4, not (>= 12 and <= 14)) => 1,
                    _ => 2,
                };
            default:
                return n is 1 or -1 ? 0 : 1;
        }
    }

    /// <summary>The integer an argument stands for: a number, or a number already formatted ("1,234", "1 234").</summary>
    private long? Number(object? arg)
    {
        switch (arg)
        {
            case int or long or short or byte or uint or ushort or sbyte:
                return Convert.ToInt64(arg, CultureInfo.InvariantCulture);
            case ulong u:
                return u > long.MaxValue ? null : (long)u;
            case double or float or decimal:
                var d = Convert.ToDecimal(arg, CultureInfo.InvariantCulture);
                return decimal.Truncate(d) == d ? (long)d : null;
            case string s:
                if (s.Contains(culture.NumberFormat.NumberDecimalSeparator, StringComparison.Ordinal))
                {
                    return null;
                }
                var digits = new string([.. s.Where(char.IsAsciiDigit)]);
                return digits.Length is > 0 and < 19 ? long.Parse(digits, CultureInfo.InvariantCulture) * (s.TrimStart().StartsWith('-') ? -1 : 1) : null;
            default:
                return null;
        }
    }
}
