namespace ChatStats.Testing;

/// <summary>
/// The invariant every writer of messages must keep: the hourly rollup equals a recount from the stored messages, row
/// for row — messages, words, characters and every kind.
/// </summary>
public static class RollupInvariant
{
    private static readonly string[] Kinds =
        ["text", "photo", "sticker", "voice", "video", "video_note", "audio", "document", "animation", "poll", "location", "contact", "dice", "other"];

    public static async Task AssertMatchesMessagesAsync(PostgresDatabase db, long? chatId = null)
    {
        var kindCounts = string.Join(", ", Kinds.Select((k, i) => $"count(*) FILTER (WHERE kind = {i}) AS {k}_count"));
        var kindChecks = string.Join(" OR ", Kinds.Select(k => $"r.{k}_count IS DISTINCT FROM h.{k}_count::bigint"));
        var filter = chatId is null ? "" : $" AND chat_id = {chatId}";
        var mismatches = await db.ScalarAsync<long>($"""
            WITH recount AS (
              SELECT chat_id, date_trunc('hour', sent_at, 'UTC') AS hour, sender_user_id AS user_id,
                     count(*) AS messages, sum(word_count) AS words, sum(char_count) AS chars, {kindCounts}
              FROM messages WHERE counted AND sender_user_id IS NOT NULL{filter} GROUP BY 1, 2, 3),
            rollup AS (SELECT * FROM chat_user_hourly WHERE true{filter})
            SELECT count(*) FROM recount r FULL JOIN rollup h USING (chat_id, hour, user_id)
            WHERE r.messages IS DISTINCT FROM h.messages::bigint OR r.words IS DISTINCT FROM h.words OR r.chars IS DISTINCT FROM h.chars OR {kindChecks}
            """);
        if (mismatches != 0)
        {
            throw new InvalidOperationException($"{mismatches} rollup rows differ from a recount of the stored messages");
        }
        // The coarse rollups (kept by triggers) agree with the fine one.
        var hourly = await db.ScalarAsync<long>($"""
            WITH fine AS (SELECT chat_id, hour, sum(messages) AS messages, sum(words) AS words, sum(chars) AS chars,
                                 {string.Join(", ", Kinds.Select(k => $"sum({k}_count) AS {k}_count"))}
                          FROM chat_user_hourly WHERE true{filter} GROUP BY 1, 2 HAVING sum(messages) <> 0 OR sum(words) <> 0),
                 coarse AS (SELECT * FROM chat_hourly WHERE (messages <> 0 OR words <> 0){filter})
            SELECT count(*) FROM fine r FULL JOIN coarse h USING (chat_id, hour)
            WHERE r.messages IS DISTINCT FROM h.messages OR r.words IS DISTINCT FROM h.words OR r.chars IS DISTINCT FROM h.chars OR {kindChecks}
            """);
        var totals = await db.ScalarAsync<long>($"""
            WITH fine AS (SELECT chat_id, user_id, sum(messages) AS messages, sum(words) AS words, sum(chars) AS chars
                          FROM chat_user_hourly WHERE true{filter} GROUP BY 1, 2 HAVING sum(messages) <> 0 OR sum(words) <> 0),
                 coarse AS (SELECT * FROM chat_user_totals WHERE (messages <> 0 OR words <> 0){filter})
            SELECT count(*) FROM fine r FULL JOIN coarse h USING (chat_id, user_id)
            WHERE r.messages IS DISTINCT FROM h.messages OR r.words IS DISTINCT FROM h.words OR r.chars IS DISTINCT FROM h.chars
            """);
        if (hourly != 0 || totals != 0)
        {
            throw new InvalidOperationException($"the coarse rollups drifted: {hourly} chat_hourly rows and {totals} chat_user_totals rows differ from chat_user_hourly");
        }
        // Whatever wrote in bulk has folded its member totals.
        var pending = await db.ScalarAsync<long>($"SELECT count(*) FROM chat_user_totals_pending WHERE true{filter}");
        if (pending != 0)
        {
            throw new InvalidOperationException($"{pending} member totals are still pending: a bulk write was not folded");
        }
    }
}
