using System.Runtime.InteropServices;
using ChatStats.Bot.Data;
using ChatStats.Bot.Stats;

namespace ChatStats.Testing;

/// <summary>
/// The invariant every writer of messages must keep: the hourly rollup equals a recount from the stored messages, row
/// for row — messages, words, characters and every kind — and the word rollup, once what is pending is folded, equals
/// a recount of the stored texts' words, per chat and UTC day and all time, and once packed, per member and day.
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
        await AssertWordsMatchAsync(db, filter);
    }

    private static async Task AssertWordsMatchAsync(PostgresDatabase db, string filter)
    {
        // A running bot folds too: rows it holds are skipped here, so wait until it has committed them.
        var patience = DateTime.UtcNow.AddSeconds(30);
        while (await WordRollup.FoldAsync(db.DataSource, CancellationToken.None) >= 0
               && await db.ScalarAsync<long>("SELECT count(*) FROM chat_words_pending") > 0 && DateTime.UtcNow < patience)
        {
            await Task.Delay(50);
        }
        await AssertWordsMatchTextsAsync(db, filter, "folded");
        // Packing every day (today's too) changes how the counts are kept, never what they are.
        await WordRollup.PackAsync(db.DataSource, DateOnly.MaxValue, CancellationToken.None);
        await AssertWordsMatchTextsAsync(db, filter, "packed");
    }

    private static async Task AssertWordsMatchTextsAsync(PostgresDatabase db, string filter, string stage)
    {
        var daily = new Dictionary<(long Chat, DateOnly Day, string Word), long>();
        var days = new Dictionary<(long Chat, DateOnly Day), (long Texts, long Uses)>();
        var memberDaily = new Dictionary<(long Chat, long User, DateOnly Day, string Word), long>();
        var memberDays = new Dictionary<(long Chat, long User, DateOnly Day), (long Texts, long Uses)>();
        await using (var cmd = db.DataSource.CreateCommand(
            $"SELECT chat_id, (sent_at AT TIME ZONE 'UTC')::date, text, sender_user_id FROM messages WHERE counted AND text IS NOT NULL{filter}"))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var (chat, day) = (reader.GetInt64(0), reader.GetFieldValue<DateOnly>(1));
                var user = reader.IsDBNull(3) ? (long?)null : reader.GetInt64(3);
                long uses = 0;
                foreach (var word in WordCounter.CountedWords(reader.GetString(2)))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(daily, (chat, day, word), out _)++;
                    if (user is { } u)
                    {
                        CollectionsMarshal.GetValueRefOrAddDefault(memberDaily, (chat, u, day, word), out _)++;
                    }
                    uses++;
                }
                ref var d = ref CollectionsMarshal.GetValueRefOrAddDefault(days, (chat, day), out _);
                d = (d.Texts + 1, d.Uses + uses);
                if (user is { } member)
                {
                    ref var m = ref CollectionsMarshal.GetValueRefOrAddDefault(memberDays, (chat, member, day), out _);
                    m = (m.Texts + 1, m.Uses + uses);
                }
            }
        }
        // A day's words are its packed arrays plus its word rows not packed yet.
        var stored = await ReadAsync(db, $"""
            SELECT chat_id, day, word, sum(uses)::bigint FROM (
              SELECT chat_id, day, word, uses FROM chat_word_daily WHERE true{filter}
              UNION ALL
              SELECT chat_id, day, u.word, u.uses FROM chat_word_days, unnest(words, counts) AS u(word, uses) WHERE true{filter}) w
            GROUP BY 1, 2, 3 HAVING sum(uses) <> 0
            """, r => ((r.GetInt64(0), r.GetFieldValue<DateOnly>(1), r.GetString(2)), r.GetInt64(3)));
        Compare($"{stage}: chat_word_days and chat_word_daily", daily, stored);
        var totals = daily.GroupBy(p => (p.Key.Chat, p.Key.Word)).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
        Compare($"{stage}: chat_words", totals, await ReadAsync(db, $"SELECT chat_id, word, uses FROM chat_words WHERE true{filter}",
            r => ((r.GetInt64(0), r.GetString(1)), r.GetInt64(2))));
        Compare($"{stage}: chat_word_days", days, await ReadAsync(db, $"SELECT chat_id, day, texts::bigint, uses FROM chat_word_days WHERE (texts <> 0 OR uses <> 0){filter}",
            r => ((r.GetInt64(0), r.GetFieldValue<DateOnly>(1)), (r.GetInt64(2), r.GetInt64(3)))));
        if (stage == "packed")
        {
            // Every day packed: each busy member's rows are the member's texts of the day, recounted when it was packed.
            var busy = memberDays.Where(p => p.Value.Texts >= WordRollup.MemberDayMinTexts).ToDictionary();
            memberDaily = memberDaily.Where(p => busy.ContainsKey((p.Key.Chat, p.Key.User, p.Key.Day))).ToDictionary();
            Compare($"{stage}: chat_member_word_days", memberDaily, await ReadAsync(db, $"""
                SELECT chat_id, user_id, day, u.word, u.uses::bigint
                FROM chat_member_word_days, unnest(coalesce(words, head_words), coalesce(counts, head_counts)) AS u(word, uses) WHERE true{filter}
                """, r => ((r.GetInt64(0), r.GetInt64(1), r.GetFieldValue<DateOnly>(2), r.GetString(3)), r.GetInt64(4))));
            Compare($"{stage}: chat_member_word_days", busy, await ReadAsync(db, $"SELECT chat_id, user_id, day, texts::bigint, uses::bigint FROM chat_member_word_days WHERE true{filter}",
                r => ((r.GetInt64(0), r.GetInt64(1), r.GetFieldValue<DateOnly>(2)), (r.GetInt64(3), r.GetInt64(4)))));
            var memberTotals = memberDaily.GroupBy(p => (p.Key.Chat, p.Key.User, p.Key.Word)).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
            Compare($"{stage}: chat_member_words", memberTotals, await ReadAsync(db, $"SELECT chat_id, user_id, word, uses::bigint FROM chat_member_words WHERE true{filter}",
                r => ((r.GetInt64(0), r.GetInt64(1), r.GetString(2)), r.GetInt64(3))));
        }
    }

    private static async Task<Dictionary<TKey, TValue>> ReadAsync<TKey, TValue>(PostgresDatabase db, string sql, Func<Npgsql.NpgsqlDataReader, (TKey, TValue)> row)
        where TKey : notnull
    {
        var rows = new Dictionary<TKey, TValue>();
        await using var cmd = db.DataSource.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var (key, value) = row(reader);
            rows.Add(key, value);
        }
        return rows;
    }

    private static void Compare<TKey, TValue>(string table, Dictionary<TKey, TValue> recount, Dictionary<TKey, TValue> stored) where TKey : notnull
    {
        var differ = recount.Where(p => !stored.TryGetValue(p.Key, out var v) || !EqualityComparer<TValue>.Default.Equals(v, p.Value))
            .Select(p => $"{p.Key}: {p.Value} counted, {(stored.TryGetValue(p.Key, out var v) ? v : "nothing")} stored")
            .Concat(stored.Where(p => !recount.ContainsKey(p.Key)).Select(p => $"{p.Key}: nothing counted, {p.Value} stored"))
            .ToList();
        if (differ.Count > 0)
        {
            throw new InvalidOperationException($"{differ.Count} {table} rows differ from a recount of the stored texts, e.g. {string.Join("; ", differ.Take(5))}");
        }
    }
}
