using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatStats.Bot.Stats;

/// <summary>
/// A span of a chat's own calendar, as UTC instants: [<see cref="From"/>, <see cref="To"/>). Rollup hours are included
/// by their start, so in a whole-hour zone a local day is exactly the UTC hours it covers (DST days too: 23 or 25 of
/// them); in a half-hour zone such as +05:30 a local day runs from 00:30 to 00:30, the UTC hour that straddles
/// midnight counting for the day it starts in.
/// </summary>
/// <param name="From">Null for "all": since the first message.</param>
internal sealed record Period(string Label, DateTimeOffset? From, DateTimeOffset To, TimeZoneInfo Zone)
{
    public const string Default = "30d";

    /// <summary>The period of the same length just before this one, to compare against; null for "all".</summary>
    public Period? Previous => From is { } from ? this with { Label = "previous", From = from - (To - from), To = from } : null;

    public int Days => From is { } from ? Math.Max(1, (int)Math.Round((To - from).TotalDays)) : 0;

    /// <summary>The forms people may write, for a reply to a bad one.</summary>
    public const string Forms = "today, yesterday, 7d, 30d, week, month, year, all, 2026-03, 2026-03-01, 2026-03-01..2026-04-15";

    /// <summary>Reads a period word; null with an error (the word, and the accepted forms) when it is not one.</summary>
    public static Period? TryParse(string text, TimeZoneInfo zone, DateTimeOffset now, out string? error)
    {
        error = null;
        var word = text.Trim().ToLowerInvariant();
        now = now.ToUniversalTime();
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var today = DateOnly.FromDateTime(local.DateTime);
        // The hour now falls in is part of the period: rollups are hourly, and a message of this minute should count.
        var hourEnd = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        Period Days(string label, DateOnly first, DateOnly endExclusive) =>
            new(label, Start(first, zone), Min(Start(endExclusive, zone), hourEnd), zone);
        // What was typed, quoted back short: a 4,096-character argument must not make the answer too long to send.
        var shown = text.Length <= 40 ? text : text[..(char.IsHighSurrogate(text[39]) ? 39 : 40)] + "…";

        switch (word)
        {
            case "today":
                return Days(word, today, today.AddDays(1));
            case "yesterday":
                return Days(word, today.AddDays(-1), today);
            case "week":
                var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
                return Days(word, monday, today.AddDays(1));
            case "month":
                return Days(word, new DateOnly(today.Year, today.Month, 1), today.AddDays(1));
            case "year":
                return Days(word, new DateOnly(today.Year, 1, 1), today.AddDays(1));
            case "all":
                return new Period(word, null, hourEnd, zone);
        }
        if (Regex.Match(word, @"^([0-9]{1,4})d$") is { Success: true } n)
        {
            var days = int.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture);
            if (days is >= 1 and <= 3660)
            {
                return Days(word, today.AddDays(1 - days), today.AddDays(1));
            }
            error = $"'{shown}': a number of days from 1 to 3660";
            return null;
        }
        if (Regex.Match(word, @"^([0-9]{4})-([0-9]{2})$") is { Success: true } month
            && DateOnly.TryParseExact($"{month.Value}-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first))
        {
            if (!InRange(first))
            {
                error = $"'{shown}': {RangeRule}";
                return null;
            }
            return Days(word, first, first.AddMonths(1));
        }
        if (DateOnly.TryParseExact(word, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            if (!InRange(day))
            {
                error = $"'{shown}': {RangeRule}";
                return null;
            }
            return Days(word, day, day.AddDays(1));
        }
        if (word.Split("..") is [var a, var b]
            && DateOnly.TryParseExact(a, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start)
            && DateOnly.TryParseExact(b, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var end))
        {
            if (!InRange(start) || !InRange(end))
            {
                error = $"'{shown}': {RangeRule}";
                return null;
            }
            if (end < start)
            {
                error = $"'{shown}': the range ends before it starts";
                return null;
            }
            return Days(word, start, end.AddDays(1));
        }
        error = $"'{shown}' is not a period";
        return null;
    }

    private const string RangeRule = "dates from 1900 to 9998";

    // Past these a day's end, or its start in the chat's zone, is no longer a date .NET can hold.
    private static bool InRange(DateOnly date) => date.Year is >= 1900 and <= 9998;

    /// <summary>Whether a word looks like a period at all (so "/top 10 7d" can tell a count from a period).</summary>
    public static bool LooksLikePeriod(string word) =>
        word.Length > 0 && (char.IsDigit(word[0]) && (word.Contains('-', StringComparison.Ordinal) || word.EndsWith('d'))
            || word.ToLowerInvariant() is "today" or "yesterday" or "week" or "month" or "year" or "all");

    /// <summary>The instant a local day starts (a midnight skipped by DST starts at the first valid minute).</summary>
    internal static DateTimeOffset Start(DateOnly day, TimeZoneInfo zone)
    {
        var midnight = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(midnight))
        {
            midnight = midnight.AddMinutes(30);
        }
        // PostgreSQL's timestamptz takes UTC instants only.
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight)).ToUniversalTime();
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>A chat's zone by IANA id; UTC when unknown.</summary>
    public static TimeZoneInfo ZoneOf(string? id) => id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
}
