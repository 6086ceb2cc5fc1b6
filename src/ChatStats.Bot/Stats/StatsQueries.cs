using ChatStats.Bot.Data;
using Dapper;
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

    static StatsQueries() => SqlMapping.Apply();

    /// <summary>
    /// The named parameters of a query over a period: <c>@chat</c>, the period as <c>@from</c> and <c>@to</c> (UTC; all
    /// time starts at the epoch) and its time zone <c>@zone</c>, and where a query needs them <c>@user</c> and <c>@count</c>.
    /// Queries without a period name theirs in place.
    /// </summary>
    private sealed record Args(long Chat, DateTimeOffset From, DateTimeOffset To, string Zone)
    {
        public long User { get; init; }

        public int Count { get; init; }

        public static Args Of(long chat, Period period) => new(chat, period.From ?? DateTimeOffset.UnixEpoch, period.To, period.Zone.Id);
    }

    private static CommandDefinition Sql(string sql, object args, CancellationToken ct) => new(sql, args, cancellationToken: ct);

    private sealed record ChatRow(string? Title, string TimeZone, string? Language, bool StoreText, int? RetentionDays, string Settings, string? Tier);

    public async Task<ChatInfo?> ChatAsync(long chatId, CancellationToken ct)
    {
        using var timing = timer?.Start("chat");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<ChatRow>(Sql(
            "SELECT title, time_zone, language, store_text, retention_days, settings::text AS settings, tier FROM chats WHERE id = @chat", new { chat = chatId }, ct));
        return row is null
            ? null
            : new ChatInfo(chatId, row.Title, Period.ZoneOf(row.TimeZone), row.Language, row.StoreText, row.RetentionDays, ChatSettings.Parse(row.Settings), row.Tier);
    }

    /// <summary>Whether anything at all is recorded for the chat: "nothing yet" and "nothing in this period" are different answers.</summary>
    public async Task<bool> HasAnyAsync(long chatId, CancellationToken ct)
    {
        using var timing = timer?.Start("has_any");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await connection.ExecuteScalarAsync<bool>(Sql("SELECT EXISTS (SELECT 1 FROM chat_hourly WHERE chat_id = @chat AND messages > 0)", new { chat = chatId }, ct));
    }

    /// <summary>A row of the totals, a local day's or a local hour's count: <see cref="Grouped"/> says which (3, 1, 2).</summary>
    private sealed record OverviewRow(int Grouped, DateOnly? Day, int? Hour, long? Messages, long? Words, long? Chars, long? Media);

    public async Task<Overview> OverviewAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("overview");
        var previous = period.Previous;
        // One pass over chat_hourly gives the totals, every local day and every local hour (grouping sets); members come
        // from the per-member totals for all time, else from the hours in range.
        string[] statements =
        [
            $"""
            SELECT grouping(day, hour) AS grouped, day, hour, sum(messages)::bigint AS messages, sum(words)::bigint AS words,
                   sum(chars)::bigint AS chars, sum(media)::bigint AS media
            FROM (SELECT (hour AT TIME ZONE @zone)::date AS day, extract(hour FROM hour AT TIME ZONE @zone)::int AS hour,
                         messages, words, chars, {MediaSum} AS media
                  FROM chat_hourly WHERE chat_id = @chat AND hour >= @from AND hour < @to) s
            GROUP BY GROUPING SETS ((), (day), (hour))
            """,
            period.From is null
                ? "SELECT count(*) FROM chat_user_totals WHERE chat_id = @chat AND messages > 0"
                : "SELECT count(DISTINCT user_id) FROM chat_user_hourly WHERE chat_id = @chat AND hour >= @from AND hour < @to AND messages > 0",
            .. previous is null ? Array.Empty<string>() : ["SELECT coalesce(sum(messages), 0)::bigint FROM chat_hourly WHERE chat_id = @chat AND hour >= @previous_from AND hour < @previous_to"],
        ];
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var args = new DynamicParameters(Args.Of(chatId, period));
        if (previous is not null)
        {
            args.Add("previous_from", previous.From ?? DateTimeOffset.UnixEpoch);
            args.Add("previous_to", previous.To);
        }
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(string.Join(";\n", statements), args, cancellationToken: ct));
        long messages = 0, words = 0, chars = 0, media = 0, dayCount = 0, hourCount = 0;
        DateOnly? day = null;
        int? hour = null;
        foreach (var row in await results.ReadAsync<OverviewRow>())
        {
            if (row.Messages is not { } count)
            {
                continue; // no rows at all: the grand total of nothing
            }
            switch (row.Grouped)
            {
                case 3:
                    (messages, words, chars, media) = (count, row.Words ?? 0, row.Chars ?? 0, row.Media ?? 0);
                    break;
                case 1 when count > dayCount || (count == dayCount && count > 0 && row.Day < day):
                    (day, dayCount) = (row.Day, count);
                    break;
                case 2 when count > hourCount || (count == hourCount && count > 0 && row.Hour < hour):
                    (hour, hourCount) = (row.Hour, count);
                    break;
            }
        }
        var members = await results.ReadSingleAsync<long>();
        long? before = previous is null ? null : await results.ReadSingleAsync<long>();
        return new Overview(messages, members, words, chars, media, day, dayCount, hour, hourCount, before);
    }

    private sealed record LeaderRow(long UserId, long Value, string? FirstName, string? LastName, string? Username);

    public async Task<Leaderboard> TopAsync(long chatId, Period period, int count, TopMetric metric, CancellationToken ct)
    {
        using var timing = timer?.Start("top");
        string sql;
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
            sql = $"""
                SELECT coalesce(sum({column}), 0)::bigint FROM chat_user_totals WHERE chat_id = @chat;
                SELECT h.user_id, h.{column} AS value, u.first_name, u.last_name, u.username
                FROM chat_user_totals h LEFT JOIN users u ON u.id = h.user_id
                WHERE h.chat_id = @chat AND h.{column} > 0 AND {NotOptedOut}
                ORDER BY h.{column} DESC, h.user_id LIMIT @count
                """;
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
            sql = $"""
                SELECT coalesce({value}, 0)::bigint FROM chat_hourly h WHERE chat_id = @chat AND hour >= @from AND hour < @to;
                SELECT t.user_id, t.value, u.first_name, u.last_name, u.username
                FROM (SELECT user_id, {value}::bigint AS value FROM chat_user_hourly h
                      WHERE chat_id = @chat AND hour >= @from AND hour < @to AND {NotOptedOut}
                      GROUP BY user_id HAVING {value} > 0 ORDER BY 2 DESC, 1 LIMIT @count) t
                LEFT JOIN users u ON u.id = t.user_id
                ORDER BY t.value DESC, t.user_id
                """;
        }
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var results = await connection.QueryMultipleAsync(Sql(sql, Args.Of(chatId, period) with { Count = count }, ct));
        var total = await results.ReadSingleAsync<long>();
        var leaders = (await results.ReadAsync<LeaderRow>())
            .Select(r => new Leader(r.UserId, DisplayName(r.FirstName, r.LastName, r.UserId), r.Username, r.Value)).ToList();
        return new Leaderboard(metric, total, leaders);
    }

    private sealed record NameRow(string? FirstName, string? LastName);

    private sealed record RankRow(long Messages, long Words, long Rank, long Ranked);

    /// <summary>A local day the member wrote on (<see cref="Grouped"/> 1), or their messages at a local hour (2).</summary>
    private sealed record MemberHourRow(int Grouped, DateOnly? Day, int? Hour, long Messages);

    private sealed record SeenRow(DateTimeOffset? First, DateTimeOffset? Last);

    public async Task<MemberStats?> MemberAsync(long chatId, long userId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("member");
        // Rank among everyone who spoke in the period (opted-out members are not ranked and see no rank).
        var members = period.From is null
            ? "SELECT user_id, messages AS m, words AS w FROM chat_user_totals h WHERE chat_id = @chat AND messages > 0"
            : "SELECT user_id, sum(messages) AS m, sum(words) AS w FROM chat_user_hourly h WHERE chat_id = @chat AND hour >= @from AND hour < @to GROUP BY user_id";
        var sql = $"""
            SELECT first_name, last_name FROM users WHERE id = @user;
            WITH t AS (SELECT * FROM ({members}) a WHERE m > 0 AND (NOT {MemberChoices.OptedOut("@chat", "a.user_id")} OR a.user_id = @user))
            SELECT coalesce((SELECT m FROM t WHERE user_id = @user), 0)::bigint AS messages, coalesce((SELECT w FROM t WHERE user_id = @user), 0)::bigint AS words,
                   (SELECT count(*) FROM t WHERE m > (SELECT m FROM t WHERE user_id = @user)) + 1 AS rank, (SELECT count(*) FROM t) AS ranked;
            -- One pass over the member's hours: messages by local hour of day, and the local days they wrote on.
            SELECT grouping(day, hour) AS grouped, day, hour, sum(messages)::bigint AS messages
            FROM (SELECT (hour AT TIME ZONE @zone)::date AS day, extract(hour FROM hour AT TIME ZONE @zone)::int AS hour, messages
                  FROM chat_user_hourly WHERE chat_id = @chat AND hour >= @from AND hour < @to AND user_id = @user AND messages > 0) s
            GROUP BY GROUPING SETS ((day), (hour));
            SELECT min(hour) AS first, max(hour) AS last FROM chat_user_hourly WHERE chat_id = @chat AND user_id = @user AND messages > 0
            """;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var results = await connection.QueryMultipleAsync(Sql(sql, Args.Of(chatId, period) with { User = userId }, ct));
        var user = await results.ReadSingleOrDefaultAsync<NameRow>();
        var rank = await results.ReadSingleAsync<RankRow>();
        var byHour = new List<(int Hour, long Messages)>();
        var days = new List<DateOnly>();
        foreach (var row in await results.ReadAsync<MemberHourRow>())
        {
            if (row.Grouped == 1)
            {
                days.Add(row.Day!.Value);
            }
            else
            {
                byHour.Add((row.Hour!.Value, row.Messages));
            }
        }
        days.Sort();
        var hours = byHour.OrderByDescending(h => h.Messages).ThenBy(h => h.Hour).Take(3).Select(h => h.Hour).ToList();
        var seen = await results.ReadSingleAsync<SeenRow>();
        if (user is null && seen.First is null)
        {
            return null;
        }
        var (streak, end) = LongestStreak(days);
        return new MemberStats(userId, DisplayName(user?.FirstName, user?.LastName, userId), rank.Messages, rank.Words,
            rank.Messages == 0 ? 0 : (int)rank.Rank, (int)rank.Ranked, hours, streak, end, seen.First, seen.Last?.AddHours(1));
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

    private sealed record HeatmapCell(int Weekday, int Hour, long Messages);

    /// <summary>Messages by local weekday (0 Monday … 6 Sunday) and hour.</summary>
    public async Task<long[,]> HeatmapAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("heatmap");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var cells = await connection.QueryAsync<HeatmapCell>(Sql("""
            SELECT extract(isodow FROM hour AT TIME ZONE @zone)::int - 1 AS weekday, extract(hour FROM hour AT TIME ZONE @zone)::int AS hour,
                   sum(messages)::bigint AS messages
            FROM chat_hourly WHERE chat_id = @chat AND hour >= @from AND hour < @to GROUP BY 1, 2
            """, Args.Of(chatId, period), ct));
        var grid = new long[7, 24];
        foreach (var cell in cells)
        {
            grid[cell.Weekday, cell.Hour] = cell.Messages;
        }
        return grid;
    }

    /// <summary>Messages per local day, every day of the period present (zeros included), oldest first.</summary>
    public async Task<IReadOnlyList<DayCount>> HistoryAsync(long chatId, Period period, CancellationToken ct)
    {
        using var timing = timer?.Start("history");
        Dictionary<DateOnly, long> counts;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            counts = (await connection.QueryAsync<DayCount>(Sql("""
                SELECT (hour AT TIME ZONE @zone)::date AS day, sum(messages)::bigint AS messages FROM chat_hourly
                WHERE chat_id = @chat AND hour >= @from AND hour < @to GROUP BY 1 HAVING sum(messages) > 0 ORDER BY 1
                """, Args.Of(chatId, period), ct))).ToDictionary(d => d.Day, d => d.Messages);
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
        var sums = string.Join(", ", Enum.GetNames<MessageKind>().Select(n => $"coalesce(sum({ChatStatsDbContext.SnakeCase(n)}_count), 0)::bigint AS {ChatStatsDbContext.SnakeCase(n)}"));
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var row = (IDictionary<string, object>)await connection.QuerySingleAsync(Sql(
            $"SELECT {sums} FROM chat_hourly WHERE chat_id = @chat AND hour >= @from AND hour < @to", Args.Of(chatId, period), ct));
        return Enum.GetValues<MessageKind>().ToDictionary(k => k, k => (long)row[ChatStatsDbContext.SnakeCase(k.ToString())]);
    }

    public async Task<IReadOnlyList<ReplyPair>> RepliesAsync(long chatId, Period period, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("replies");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var pairs = await connection.QueryAsync<ReplyPair>(Sql($"""
            SELECT coalesce(a.first_name, 'user ' || t.sender_user_id) AS "from", coalesce(b.first_name, 'user ' || t.reply_to_user_id) AS "to", t.count
            FROM (SELECT m.sender_user_id, m.reply_to_user_id, count(*) AS count FROM messages m
                  WHERE m.chat_id = @chat AND m.sent_at >= @from AND m.sent_at < @to AND m.counted
                    AND m.reply_to_user_id IS NOT NULL AND m.reply_to_user_id <> m.sender_user_id
                    AND NOT {MemberChoices.OptedOut("m.chat_id", "m.sender_user_id")} AND NOT {MemberChoices.OptedOut("m.chat_id", "m.reply_to_user_id")}
                  GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT @count) t
            LEFT JOIN users a ON a.id = t.sender_user_id
            LEFT JOIN users b ON b.id = t.reply_to_user_id
            ORDER BY t.count DESC
            """, Args.Of(chatId, period) with { Count = count }, ct));
        return pairs.AsList();
    }

    private sealed record InactiveRow(long UserId, DateTimeOffset? LastSeen, string FirstName, string? LastName);

    /// <summary>
    /// Members not seen for <paramref name="days"/> days: everyone who spoke or joined, less those whose latest
    /// membership event is leaving, whose last message is older than the cut-off (or who never spoke).
    /// </summary>
    public async Task<IReadOnlyList<InactiveMember>> InactiveAsync(long chatId, int days, DateTimeOffset now, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("inactive");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<InactiveRow>(Sql($"""
            WITH spoke AS (SELECT t.user_id,
                                  (SELECT max(h.hour) FROM chat_user_hourly h WHERE h.chat_id = @chat AND h.user_id = t.user_id AND h.messages > 0) + interval '1 hour' AS last
                           FROM chat_user_totals t WHERE t.chat_id = @chat AND t.messages > 0),
                 membership AS (SELECT DISTINCT ON (target_user_id) target_user_id AS user_id, kind, occurred_at FROM service_events
                                WHERE chat_id = @chat AND kind IN ({(short)ServiceEventKind.Joined}, {(short)ServiceEventKind.Left}) AND target_user_id IS NOT NULL
                                ORDER BY target_user_id, occurred_at DESC, message_id DESC),
                 everyone AS (SELECT user_id FROM spoke UNION SELECT user_id FROM membership WHERE kind = {(short)ServiceEventKind.Joined})
            SELECT e.user_id, s.last AS last_seen, coalesce(u.first_name, 'user ' || e.user_id) AS first_name, u.last_name
            FROM everyone e
            LEFT JOIN spoke s ON s.user_id = e.user_id
            LEFT JOIN membership m ON m.user_id = e.user_id
            LEFT JOIN users u ON u.id = e.user_id
            WHERE coalesce(m.kind, {(short)ServiceEventKind.Joined}) <> {(short)ServiceEventKind.Left}
              AND coalesce(u.is_bot, false) = false
              AND (s.last IS NULL OR s.last < @cutoff)
              AND coalesce(m.occurred_at, '-infinity') < @cutoff
            ORDER BY s.last NULLS FIRST, e.user_id
            LIMIT @count
            """, new { chat = chatId, cutoff = now - TimeSpan.FromDays(days), count }, ct));
        return rows.Select(r => new InactiveMember(r.UserId, DisplayName(r.FirstName, r.LastName, r.UserId), r.LastSeen, r.LastSeen is null)).ToList();
    }

    public async Task<IReadOnlyList<TitleChange>> TitlesAsync(long chatId, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("titles");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var titles = await connection.QueryAsync<TitleChange>(Sql("""
            SELECT t.title, t.changed_at AS at, u.first_name AS "by" FROM chat_title_history t LEFT JOIN users u ON u.id = t.changed_by_user_id
            WHERE t.chat_id = @chat ORDER BY t.changed_at DESC, t.message_id DESC LIMIT @count
            """, new { chat = chatId, count }, ct));
        return titles.AsList();
    }

    /// <summary>A member of the chat by @username (case-insensitive), for /user @name.</summary>
    public async Task<long?> FindUserAsync(long chatId, string username, CancellationToken ct)
    {
        using var timing = timer?.Start("find_user");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(Sql("""
            SELECT u.id FROM users u WHERE lower(u.username) = lower(@username)
            ORDER BY EXISTS (SELECT 1 FROM chat_user_hourly h WHERE h.chat_id = @chat AND h.user_id = u.id) DESC LIMIT 1
            """, new { chat = chatId, username = username.TrimStart('@') }, ct));
    }

    /// <summary>A member as the statistics name them: first and last name, or "user 42" when no name is known.</summary>
    private static string DisplayName(string? first, string? last, long userId) =>
        first is null ? $"user {userId}" : string.IsNullOrEmpty(last) ? first : $"{first} {last}";
}
