using NCrontab;

namespace ChatStats.Jobs;

/// <summary>Five-field cron expressions (NCrontab) evaluated in a time zone, DST-aware.</summary>
public static class Cron
{
    public static CrontabSchedule Parse(string expression) =>
        CrontabSchedule.TryParse(expression) ?? throw new ArgumentException($"'{expression}' is not a cron expression (minute hour day month weekday, e.g. '0 3 * * *').");

    /// <summary>The first occurrence strictly after <paramref name="after"/>, as a UTC instant. A local time skipped by DST runs at the first valid minute.</summary>
    public static DateTimeOffset Next(CrontabSchedule schedule, TimeZoneInfo zone, DateTimeOffset after)
    {
        var local = TimeZoneInfo.ConvertTime(after, zone).DateTime;
        var next = schedule.GetNextOccurrence(local);
        while (zone.IsInvalidTime(next))
        {
            next = next.AddMinutes(1);
        }
        var result = new DateTimeOffset(next, zone.GetUtcOffset(next)).ToUniversalTime();
        return result > after ? result : Next(schedule, zone, after.AddMinutes(1));
    }
}
