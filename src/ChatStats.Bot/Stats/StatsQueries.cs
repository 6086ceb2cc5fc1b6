using ChatStats.Bot.Data;
using Npgsql;

namespace ChatStats.Bot.Stats;

/// <summary>What the statistics of one chat need to know about it.</summary>
/// <param name="Tier">The operator's rate tier for the chat; null means Limits:DefaultTier.</param>
internal sealed record ChatInfo(long Id, string? Title, TimeZoneInfo Zone, string? Language, bool StoreText, int? RetentionDays, ChatSettings Settings, string? Tier = null);

internal sealed record Overview(
    long Messages, long Members, long Words, long Chars, long Media,
    DateOnly? BusiestDay, long BusiestDayMessages, int? BusiestHour, long BusiestHourMessages, long? PreviousMessages);

internal enum TopMetric
{
    Messages,
    Words,
    Chars,
    Media,
}

internal sealed record Leader(long UserId, string Name, string? Username, long Value);

internal sealed record Leaderboard(TopMetric Metric, long Total, IReadOnlyList<Leader> Leaders);

internal sealed record MemberStats(
    long UserId, string Name, long Messages, long Words, int Rank, int Ranked, IReadOnlyList<int> TopHours,
    int LongestStreak, DateOnly? StreakEnd, DateTimeOffset? FirstSeen, DateTimeOffset? LastSeen);

internal sealed record DayCount(DateOnly Day, long Messages);

internal sealed record ReplyPair(string From, string To, long Count);

internal sealed record InactiveMember(long UserId, string Name, DateTimeOffset? LastSeen, bool NeverSpoke);

internal sealed record TitleChange(string Title, DateTimeOffset At, string? By);

/// <summary>
/// Every statistic the chat commands, the CLI and the reports show. Counts come from the hourly rollup (an index range
/// per chat); only word counts and reply pairs read messages, bounded by the period. Members who opted out are left
/// out of leaderboards and pairs; their messages still count in totals.
/// </summary>
internal sealed class StatsQueries(NpgsqlDataSource dataSource, QueryTimer? timer = null)
{
    private static readonly string NotOptedOut = $"NOT {MemberChoices.OptedOut("h.chat_id", "h.user_id")}";
    private static readonly string MediaSum = MessageKinds.MediaSum;

    public async Task<ChatInfo?> ChatAsync(long chatId, CancellationToken ct)
    {
        using var timing = timer?.Start("chat");
        await using var cmd = dataSource.CreateCommand("SELECT title, time_zone, language, store_text, retention_days, settings::text, tier FROM chats WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct)
            ? new ChatInfo(chatId, r.IsDBNull(0) ? null : r.GetString(0), Period.ZoneOf(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2),
                r.GetBoolean(3), r.IsDBNull(4) ? null : r.GetInt32(4), ChatSettings.Parse(r.GetString(5)), r.IsDBNull(6) ? null : r.GetString(6))
            : null;
    }

    private static NpgsqlParameter[] Range(long chatId, Period p) =>
    [
        new NpgsqlParameter<long> { TypedValue = chatId },
        new NpgsqlParameter<DateTimeOffset> { TypedValue = p.From ?? DateTimeOffset.UnixEpoch },
        new NpgsqlParameter<DateTimeOffset> { TypedValue = p.To },
        new NpgsqlParameter<string> { TypedValue = p.Zone.Id },
    ];

    private NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        cmd.Parameters.AddRange(parameters);
        return cmd;
    }

    /// <summary>Whether anything at all is recorded for the chat: "nothing yet" and "nothing in this period" are different answers.</summary>
    public async Task<bool> HasAnyAsync(long chatId, CancellationToken ct)
    {
        using var timing = timer?.Start("has_any");
        await using var cmd = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM chat_hourly WHERE chat_id = $1 AND messages > 0)");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    public async Task<Overview> OverviewAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("overview");
        await using var batch = dataSource.CreateBatch();
        // One pass over chat_hourly gives the totals, every local day and every local hour (grouping sets).
        batch.BatchCommands.Add(Command($"""
            SELECT grouping(day, h), day, h, sum(messages)::bigint, sum(words)::bigint, sum(chars)::bigint, sum(media)::bigint
            FROM (SELECT (hour AT TIME ZONE $4)::date AS day, extract(hour FROM hour AT TIME ZONE $4)::int AS h,
                         messages, words, chars, {MediaSum} AS media
                  FROM chat_hourly WHERE chat_id = $1 AND hour >= $2 AND hour < $3) s
            GROUP BY GROUPING SETS ((), (day), (h))
            """, Range(chatId, period)));
        // Members: the per-member totals for all time, else the hours in range.
        batch.BatchCommands.Add(period.From is null
            ? Command("SELECT count(*) FROM chat_user_totals WHERE chat_id = $1 AND messages > 0", new NpgsqlParameter<long> { TypedValue = chatId })
            : Command("SELECT count(DISTINCT user_id) FROM chat_user_hourly WHERE chat_id = $1 AND hour >= $2 AND hour < $3 AND messages > 0", Range(chatId, period)[..3]));
        var previous = period.Previous;
        if (previous is not null)
        {
            batch.BatchCommands.Add(Command("SELECT coalesce(sum(messages), 0)::bigint FROM chat_hourly WHERE chat_id = $1 AND hour >= $2 AND hour < $3",
                Range(chatId, previous)[..3]));
        }
        await using var r = await batch.ExecuteReaderAsync(ct);
        long messages = 0, words = 0, chars = 0, media = 0, dayCount = 0, hourCount = 0;
        DateOnly? day = null;
        int? hour = null;
        while (await r.ReadAsync(ct))
        {
            if (r.IsDBNull(3))
            {
                continue; // no rows at all: the grand total of nothing
            }
            var count = r.GetInt64(3);
            switch (r.GetInt32(0))
            {
                case 3:
                    (messages, words, chars, media) = (count, r.GetInt64(4), r.GetInt64(5), r.GetInt64(6));
                    break;
                case 1 when count > dayCount || (count == dayCount && count > 0 && DateOnly.FromDateTime(r.GetDateTime(1)) < day):
                    (day, dayCount) = (DateOnly.FromDateTime(r.GetDateTime(1)), count);
                    break;
                case 2 when count > hourCount || (count == hourCount && count > 0 && r.GetInt32(2) < hour):
                    (hour, hourCount) = (r.GetInt32(2), count);
                    break;
            }
        }
        await r.NextResultAsync(ct);
        await r.ReadAsync(ct);
        var members = r.GetInt64(0);
        long? before = null;
        if (previous is not null)
        {
            await r.NextResultAsync(ct);
            await r.ReadAsync(ct);
            before = r.GetInt64(0);
        }
        return new Overview(messages, members, words, chars, media, day, dayCount, hour, hourCount, before);
    }

    public async Task<Leaderboard> TopAsync(long chatId, Period period, int count, TopMetric metric, CancellationToken ct)
    {
        using var timing = timer?.Start("top");
        await using var batch = dataSource.CreateBatch();
        if (period.From is null)
        {
            // All time: one row per member.
            var column = metric switch
            {
                TopMetric.Words => "words",
                TopMetric.Chars => "chars",
                TopMetric.Media => "media",
                _ => "messages",
            };
            batch.BatchCommands.Add(Command($"SELECT coalesce(sum({column}), 0)::bigint FROM chat_user_totals WHERE chat_id = $1", new NpgsqlParameter<long> { TypedValue = chatId }));
            batch.BatchCommands.Add(Command($"""
                SELECT h.user_id, h.{column}, u.first_name, u.last_name, u.username
                FROM chat_user_totals h LEFT JOIN users u ON u.id = h.user_id
                WHERE h.chat_id = $1 AND h.{column} > 0 AND {NotOptedOut}
                ORDER BY h.{column} DESC, h.user_id LIMIT $2
                """, new NpgsqlParameter<long> { TypedValue = chatId }, new NpgsqlParameter<int> { TypedValue = count }));
        }
        else
        {
            var value = metric switch
            {
                TopMetric.Words => "sum(words)",
                TopMetric.Chars => "sum(chars)",
                TopMetric.Media => $"sum({MediaSum})",
                _ => "sum(messages)",
            };
            batch.BatchCommands.Add(Command($"SELECT coalesce({value}, 0)::bigint FROM chat_hourly h WHERE chat_id = $1 AND hour >= $2 AND hour < $3", Range(chatId, period)[..3]));
            batch.BatchCommands.Add(Command($"""
                SELECT t.user_id, t.v, u.first_name, u.last_name, u.username
                FROM (SELECT user_id, {value}::bigint AS v FROM chat_user_hourly h
                      WHERE chat_id = $1 AND hour >= $2 AND hour < $3 AND {NotOptedOut}
                      GROUP BY user_id HAVING {value} > 0 ORDER BY 2 DESC, 1 LIMIT $4) t
                LEFT JOIN users u ON u.id = t.user_id
                ORDER BY t.v DESC, t.user_id
                """, [.. Range(chatId, period)[..3], new NpgsqlParameter<int> { TypedValue = count }]));
        }
        await using var r = await batch.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        var total = r.GetInt64(0);
        await r.NextResultAsync(ct);
        var leaders = new List<Leader>();
        while (await r.ReadAsync(ct))
        {
            leaders.Add(new Leader(r.GetInt64(0), Name(r, 2, r.GetInt64(0)), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt64(1)));
        }
        return new Leaderboard(metric, total, leaders);
    }

    public async Task<MemberStats?> MemberAsync(long chatId, long userId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("member");
        var p = Range(chatId, period);
        var user = new NpgsqlParameter<long> { TypedValue = userId };
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(Command("SELECT first_name, last_name FROM users WHERE id = $1", new NpgsqlParameter<long> { TypedValue = userId }));
        // Rank among everyone who spoke in the period (opted-out members are not ranked and see no rank).
        var members = period.From is null
            ? "SELECT user_id, messages AS m, words AS w FROM chat_user_totals h WHERE chat_id = $1 AND messages > 0"
            : "SELECT user_id, sum(messages) AS m, sum(words) AS w FROM chat_user_hourly h WHERE chat_id = $1 AND hour >= $2 AND hour < $3 GROUP BY user_id";
        batch.BatchCommands.Add(Command($"""
            WITH t AS (SELECT * FROM ({members}) a WHERE m > 0 AND (NOT {MemberChoices.OptedOut("$1", "a.user_id")} OR a.user_id = $5))
            SELECT coalesce((SELECT m FROM t WHERE user_id = $5), 0)::bigint, coalesce((SELECT w FROM t WHERE user_id = $5), 0)::bigint,
                   (SELECT count(*) FROM t WHERE m > (SELECT m FROM t WHERE user_id = $5)) + 1, (SELECT count(*) FROM t)
            """, [.. p, user]));
        // One pass over the member's hours: messages by local hour of day, and the local days they wrote on.
        batch.BatchCommands.Add(Command("""
            SELECT grouping(day, h), day, h, sum(messages)::bigint
            FROM (SELECT (hour AT TIME ZONE $4)::date AS day, extract(hour FROM hour AT TIME ZONE $4)::int AS h, messages
                  FROM chat_user_hourly WHERE chat_id = $1 AND hour >= $2 AND hour < $3 AND user_id = $5 AND messages > 0) s
            GROUP BY GROUPING SETS ((day), (h))
            """, [.. Range(chatId, period), new NpgsqlParameter<long> { TypedValue = userId }]));
        batch.BatchCommands.Add(Command("SELECT min(hour), max(hour) FROM chat_user_hourly WHERE chat_id = $1 AND user_id = $2 AND messages > 0",
            new NpgsqlParameter<long> { TypedValue = chatId }, new NpgsqlParameter<long> { TypedValue = userId }));
        await using var r = await batch.ExecuteReaderAsync(ct);
        string? name = null;
        if (await r.ReadAsync(ct))
        {
            name = Name(r, 0, userId);
        }
        await r.NextResultAsync(ct);
        await r.ReadAsync(ct);
        var (messages, words, rank, ranked) = (r.GetInt64(0), r.GetInt64(1), (int)r.GetInt64(2), (int)r.GetInt64(3));
        await r.NextResultAsync(ct);
        var byHour = new List<(int Hour, long Messages)>();
        var days = new List<DateOnly>();
        while (await r.ReadAsync(ct))
        {
            if (r.GetInt32(0) == 1)
            {
                days.Add(DateOnly.FromDateTime(r.GetDateTime(1)));
            }
            else
            {
                byHour.Add((r.GetInt32(2), r.GetInt64(3)));
            }
        }
        days.Sort();
        var hours = byHour.OrderByDescending(h => h.Messages).ThenBy(h => h.Hour).Take(3).Select(h => h.Hour).ToList();
        await r.NextResultAsync(ct);
        await r.ReadAsync(ct);
        DateTimeOffset? first = r.IsDBNull(0) ? null : r.GetFieldValue<DateTimeOffset>(0);
        DateTimeOffset? last = r.IsDBNull(1) ? null : r.GetFieldValue<DateTimeOffset>(1);
        if (name is null && first is null)
        {
            return null;
        }
        var (streak, end) = LongestStreak(days);
        return new MemberStats(userId, name ?? $"user {userId}", messages, words, messages == 0 ? 0 : rank, ranked, hours, streak, end, first, last?.AddHours(1));
    }

    /// <summary>The longest run of consecutive days, and the day it ended.</summary>
    internal static (int Length, DateOnly? End) LongestStreak(IReadOnlyList<DateOnly> sortedDays)
    {
        var (best, bestEnd, run) = (0, (DateOnly?)null, 0);
        for (var i = 0; i < sortedDays.Count; i++)
        {
            run = i > 0 && sortedDays[i].DayNumber == sortedDays[i - 1].DayNumber + 1 ? run + 1 : 1;
            if (run > best)
            {
                (best, bestEnd) = (run, sortedDays[i]);
            }
        }
        return (best, bestEnd);
    }

    /// <summary>Messages by local weekday (0 Monday … 6 Sunday) and hour.</summary>
    public async Task<long[,]> HeatmapAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("heatmap");
        await using var cmd = dataSource.CreateCommand("""
            SELECT (extract(isodow FROM hour AT TIME ZONE $4)::int - 1), extract(hour FROM hour AT TIME ZONE $4)::int, sum(messages)::bigint
            FROM chat_hourly WHERE chat_id = $1 AND hour >= $2 AND hour < $3 GROUP BY 1, 2
            """);
        cmd.Parameters.AddRange(Range(chatId, period));
        var grid = new long[7, 24];
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            grid[r.GetInt32(0), r.GetInt32(1)] = r.GetInt64(2);
        }
        return grid;
    }

    /// <summary>Messages per local day, every day of the period present (zeros included), oldest first.</summary>
    public async Task<IReadOnlyList<DayCount>> HistoryAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("history");
        await using var cmd = dataSource.CreateCommand("""
            SELECT (hour AT TIME ZONE $4)::date, sum(messages)::bigint FROM chat_hourly
            WHERE chat_id = $1 AND hour >= $2 AND hour < $3 GROUP BY 1 HAVING sum(messages) > 0 ORDER BY 1
            """);
        cmd.Parameters.AddRange(Range(chatId, period));
        var counts = new Dictionary<DateOnly, long>();
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                counts[DateOnly.FromDateTime(r.GetDateTime(0))] = r.GetInt64(1);
            }
        }
        if (counts.Count == 0)
        {
            return [];
        }
        var first = period.From is { } from ? DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(from, period.Zone).DateTime) : counts.Keys.Min();
        var last = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(period.To.AddTicks(-1), period.Zone).DateTime);
        var days = new List<DayCount>();
        for (var d = first; d <= last; d = d.AddDays(1))
        {
            days.Add(new DayCount(d, counts.GetValueOrDefault(d)));
        }
        return days;
    }

    public async Task<IReadOnlyDictionary<MessageKind, long>> KindsAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("kinds");
        var sums = string.Join(", ", Enum.GetNames<MessageKind>().Select(n => $"coalesce(sum({ChatStatsDbContext.SnakeCase(n)}_count), 0)::bigint"));
        await using var cmd = dataSource.CreateCommand($"SELECT {sums} FROM chat_hourly WHERE chat_id = $1 AND hour >= $2 AND hour < $3");
        cmd.Parameters.AddRange(Range(chatId, period)[..3]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return Enum.GetValues<MessageKind>().ToDictionary(k => k, k => r.GetInt64((int)k));
    }

    /// <summary>The texts of the period (optionally one member's), streamed: word counts are made in memory from them.</summary>
    public async Task<IReadOnlyList<ReplyPair>> RepliesAsync(long chatId, Period period, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("replies");
        await using var cmd = dataSource.CreateCommand($"""
            SELECT t.n, coalesce(a.first_name, 'user ' || t.sender_user_id), coalesce(b.first_name, 'user ' || t.reply_to_user_id)
            FROM (SELECT m.sender_user_id, m.reply_to_user_id, count(*) AS n FROM messages m
                  WHERE m.chat_id = $1 AND m.sent_at >= $2 AND m.sent_at < $3 AND m.counted
                    AND m.reply_to_user_id IS NOT NULL AND m.reply_to_user_id <> m.sender_user_id
                    AND NOT {MemberChoices.OptedOut("m.chat_id", "m.sender_user_id")} AND NOT {MemberChoices.OptedOut("m.chat_id", "m.reply_to_user_id")}
                  GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $4) t
            LEFT JOIN users a ON a.id = t.sender_user_id
            LEFT JOIN users b ON b.id = t.reply_to_user_id
            ORDER BY t.n DESC
            """);
        cmd.Parameters.AddRange(Range(chatId, period)[..3]);
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        var pairs = new List<ReplyPair>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            pairs.Add(new ReplyPair(r.GetString(1), r.GetString(2), r.GetInt64(0)));
        }
        return pairs;
    }

    /// <summary>
    /// Members not seen for <paramref name="days"/> days: everyone who spoke or joined, less those whose latest
    /// membership event is leaving, whose last message is older than the cut-off (or who never spoke).
    /// </summary>
    public async Task<IReadOnlyList<InactiveMember>> InactiveAsync(long chatId, int days, DateTimeOffset now, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("inactive");
        await using var cmd = dataSource.CreateCommand($"""
            WITH spoke AS (SELECT t.user_id,
                                  (SELECT max(h.hour) FROM chat_user_hourly h WHERE h.chat_id = $1 AND h.user_id = t.user_id AND h.messages > 0) + interval '1 hour' AS last
                           FROM chat_user_totals t WHERE t.chat_id = $1 AND t.messages > 0),
                 membership AS (SELECT DISTINCT ON (target_user_id) target_user_id AS user_id, kind, occurred_at FROM service_events
                                WHERE chat_id = $1 AND kind IN ({(short)ServiceEventKind.Joined}, {(short)ServiceEventKind.Left}) AND target_user_id IS NOT NULL
                                ORDER BY target_user_id, occurred_at DESC, message_id DESC),
                 everyone AS (SELECT user_id FROM spoke UNION SELECT user_id FROM membership WHERE kind = {(short)ServiceEventKind.Joined})
            SELECT e.user_id, s.last, coalesce(u.first_name, 'user ' || e.user_id), u.last_name
            FROM everyone e
            LEFT JOIN spoke s ON s.user_id = e.user_id
            LEFT JOIN membership m ON m.user_id = e.user_id
            LEFT JOIN users u ON u.id = e.user_id
            WHERE coalesce(m.kind, {(short)ServiceEventKind.Joined}) <> {(short)ServiceEventKind.Left}
              AND coalesce(u.is_bot, false) = false
              AND (s.last IS NULL OR s.last < $2)
              AND coalesce(m.occurred_at, '-infinity') < $2
            ORDER BY s.last NULLS FIRST, e.user_id
            LIMIT $3
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now - TimeSpan.FromDays(days) });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        var list = new List<InactiveMember>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var name = r.IsDBNull(3) || r.GetString(3).Length == 0 ? r.GetString(2) : $"{r.GetString(2)} {r.GetString(3)}";
            list.Add(new InactiveMember(r.GetInt64(0), name, r.IsDBNull(1) ? null : r.GetFieldValue<DateTimeOffset>(1), r.IsDBNull(1)));
        }
        return list;
    }

    public async Task<IReadOnlyList<TitleChange>> TitlesAsync(long chatId, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("titles");
        await using var cmd = dataSource.CreateCommand("""
            SELECT t.title, t.changed_at, u.first_name FROM chat_title_history t LEFT JOIN users u ON u.id = t.changed_by_user_id
            WHERE t.chat_id = $1 ORDER BY t.changed_at DESC, t.message_id DESC LIMIT $2
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        var list = new List<TitleChange>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new TitleChange(r.GetString(0), r.GetFieldValue<DateTimeOffset>(1), r.IsDBNull(2) ? null : r.GetString(2)));
        }
        return list;
    }

    /// <summary>A member of the chat by @username (case-insensitive), for /user @name.</summary>
    public async Task<long?> FindUserAsync(long chatId, string username, CancellationToken ct)
    {
        using var timing = timer?.Start("find_user");
        await using var cmd = dataSource.CreateCommand("""
            SELECT u.id FROM users u WHERE lower(u.username) = lower($2)
            ORDER BY EXISTS (SELECT 1 FROM chat_user_hourly h WHERE h.chat_id = $1 AND h.user_id = u.id) DESC LIMIT 1
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = username.TrimStart('@') });
        return await cmd.ExecuteScalarAsync(ct) is long id ? id : null;
    }

    private static string Name(NpgsqlDataReader r, int firstColumn, long userId)
    {
        var first = r.IsDBNull(firstColumn) ? null : r.GetString(firstColumn);
        var last = r.IsDBNull(firstColumn + 1) ? null : r.GetString(firstColumn + 1);
        return first is null ? $"user {userId}" : string.IsNullOrEmpty(last) ? first : $"{first} {last}";
    }
}
