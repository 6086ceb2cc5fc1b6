using ChatStats.Bot.Data;
using ChatStats.Telegram.Types;
using Npgsql;

namespace ChatStats.Bot.Stats;

internal sealed record MemberCount(long UserId, string Name, string? Username, long Messages);

internal sealed record ChatTotals(
    long ChatId,
    string? Title,
    long Messages,
    long Members,
    long Words,
    long Chars,
    IReadOnlyDictionary<MessageKind, long> ByKind,
    IReadOnlyList<MemberCount> Top);

/// <summary>A chat's all-time totals and leaders, read from the hourly rollup (never a scan of raw messages).</summary>
internal sealed class ChatTotalsQuery(NpgsqlDataSource dataSource)
{
    private static readonly string KindSums = string.Join(", ",
        Enum.GetNames<MessageKind>().Select(n => $"coalesce(sum({ChatStatsDbContext.SnakeCase(n)}_count), 0)"));

    public async Task<ChatTotals?> GetAsync(long chatId, int top, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT title FROM chats WHERE id = $1") { Parameters = { new() { Value = chatId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            SELECT coalesce(sum(messages), 0), count(DISTINCT user_id), coalesce(sum(words), 0), coalesce(sum(chars), 0), {KindSums}
            FROM chat_user_hourly WHERE chat_id = $1
            """) { Parameters = { new() { Value = chatId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT t.user_id, t.messages, u.first_name, u.last_name, u.username
            FROM (SELECT user_id, sum(messages) AS messages FROM chat_user_hourly WHERE chat_id = $1
                  GROUP BY user_id ORDER BY sum(messages) DESC, user_id LIMIT $2) t
            LEFT JOIN users u ON u.id = t.user_id
            ORDER BY t.messages DESC, t.user_id
            """) { Parameters = { new() { Value = chatId }, new() { Value = top } } });

        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var title = reader.IsDBNull(0) ? null : reader.GetString(0);
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        var messages = reader.GetInt64(0);
        var members = reader.GetInt64(1);
        var words = Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture);
        var chars = Convert.ToInt64(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture);
        var byKind = new Dictionary<MessageKind, long>();
        foreach (var kind in Enum.GetValues<MessageKind>())
        {
            byKind[kind] = reader.GetInt64(4 + (int)kind);
        }
        await reader.NextResultAsync(ct);
        var leaders = new List<MemberCount>();
        while (await reader.ReadAsync(ct))
        {
            var first = reader.IsDBNull(2) ? null : reader.GetString(2);
            var last = reader.IsDBNull(3) ? null : reader.GetString(3);
            var userId = reader.GetInt64(0);
            var name = first is null ? $"user {userId}" : string.IsNullOrEmpty(last) ? first : $"{first} {last}";
            leaders.Add(new MemberCount(userId, name, reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(1)));
        }
        return new ChatTotals(chatId, title, messages, members, words, chars, byKind, leaders);
    }
}
