using System.Globalization;
using ChatStats.Bot.Stats;

namespace ChatStats.Bot.Presentation;

/// <summary>How periods, days, times and numbers read in a reply, a report or a digest, in the reader's language.</summary>
internal static class Formats
{
    private const string DayFormat = "d MMM yyyy";

    /// <summary>"1 Mar 2026 – 30 Mar 2026", "14 Mar 2026" or "all time", in the reader's language.</summary>
    public static string Describe(Period period, CultureInfo culture)
    {
        if (period.From is not { } from)
        {
            return Localizer.Get("PeriodAll", culture);
        }
        var first = TimeZoneInfo.ConvertTime(from, period.Zone);
        var last = TimeZoneInfo.ConvertTime(period.To.AddTicks(-1), period.Zone);
        return first.Date == last.Date
            ? first.ToString(DayFormat, culture)
            : $"{first.ToString(DayFormat, culture)} – {last.ToString(DayFormat, culture)}";
    }

    public static string Day(DateOnly day, CultureInfo culture) => day.ToString(DayFormat, culture);

    public static string Local(DateTimeOffset instant, TimeZoneInfo zone, CultureInfo culture) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("d MMM yyyy HH:mm", culture);

    public static string Number(double value, CultureInfo culture) => value.ToString(value >= 100 || value == Math.Floor(value) ? "N0" : "N1", culture);

    /// <summary>"+12 % (1,000 → 1,120)": the change against the period before.</summary>
    public static string Change(long now, long before, CultureInfo c)
    {
        var ratio = (now - before) / (double)before;
        return $"{(ratio >= 0 ? "+" : "−")}{Math.Abs(ratio).ToString("P0", c)} ({before.ToString("N0", c)} → {now.ToString("N0", c)})";
    }
}
