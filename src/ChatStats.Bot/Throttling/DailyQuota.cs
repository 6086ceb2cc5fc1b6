using Microsoft.Extensions.Options;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Throttling;

/// <summary>The outcome of asking for one unit of a chat's daily quota.</summary>
/// <param name="ResetsAt">The next local midnight of the chat, when the count starts again.</param>
internal sealed record QuotaDecision(bool Allowed, int Used, int Limit, DateTimeOffset ResetsAt, TimeZoneInfo Zone);

/// <summary>
/// Heavy work (reports, AI summaries) a chat may start per day: <c>Limits:DailyHeavyQuota</c>, counted per day of the
/// chat's own calendar (its time zone setting) in the database, so a restart or a second process does not reset it. The
/// check and the increment are one statement: two requests racing for the last unit cannot both get it.
/// </summary>
internal sealed class DailyQuota(NpgsqlDataSource dataSource, IOptions<LimitsOptions> options, TimeProvider time)
{
    public int Limit => options.Value.DailyHeavyQuota;

    /// <param name="zone">The chat's zone when the caller has it; read from the chat otherwise.</param>
    public async Task<QuotaDecision> TryConsumeAsync(long chatId, TimeZoneInfo? zone, CancellationToken ct)
    {
        zone ??= await ZoneAsync(chatId, ct);
        var (day, resetsAt) = Today(zone);
        if (Limit == 0)
        {
            return new QuotaDecision(true, 0, 0, resetsAt, zone);
        }
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var used = await connection.ExecuteScalarAsync<int?>(new CommandDefinition("""
            INSERT INTO chat_daily_usage AS u (chat_id, day, used) VALUES (@chat, @day, 1)
            ON CONFLICT (chat_id, day) DO UPDATE SET used = u.used + 1 WHERE u.used < @limit
            RETURNING used
            """, new { chat = chatId, day, limit = Limit }, cancellationToken: ct));
        QuotaMetrics.Decisions.Add(1, new KeyValuePair<string, object?>("outcome", used is null ? "rejected" : "allowed"));
        return used is { } n ? new QuotaDecision(true, n, Limit, resetsAt, zone) : new QuotaDecision(false, Limit, Limit, resetsAt, zone);
    }

    /// <summary>Gives a unit back: the work it was taken for did not happen (a duplicate report, a failed start).</summary>
    public async Task RefundAsync(long chatId, TimeZoneInfo? zone, CancellationToken ct)
    {
        var (day, _) = Today(zone ?? await ZoneAsync(chatId, ct));
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE chat_daily_usage SET used = used - 1 WHERE chat_id = @chat AND day = @day AND used > 0", new { chat = chatId, day }, cancellationToken: ct));
    }

    /// <summary>Today in the zone, and the instant the next day starts there (DST-aware: a 23- or 25-hour day is handled).</summary>
    internal (DateOnly Day, DateTimeOffset ResetsAt) Today(TimeZoneInfo zone)
    {
        var now = time.GetUtcNow();
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var day = DateOnly.FromDateTime(local.DateTime);
        var midnight = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        // A midnight skipped by a DST jump (some zones jump at 00:00): the day starts at the first valid minute after it.
        while (zone.IsInvalidTime(midnight))
        {
            midnight = midnight.AddMinutes(30);
        }
        return (day, new DateTimeOffset(midnight, zone.GetUtcOffset(midnight)));
    }

    private async Task<TimeZoneInfo> ZoneAsync(long chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var id = await connection.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT time_zone FROM chats WHERE id = @chat", new { chat = chatId }, cancellationToken: ct));
        return id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
    }
}

internal static class QuotaMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("ChatStats.Bot.Quota");
    public static readonly System.Diagnostics.Metrics.Counter<long> Decisions = Meter.CreateCounter<long>("chatstats.quota.decisions", "{decision}", "Daily heavy-work quota decisions, by outcome.");
}
