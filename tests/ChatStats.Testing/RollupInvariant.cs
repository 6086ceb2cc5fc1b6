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
    }
}
