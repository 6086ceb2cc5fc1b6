using ChatStats.Bot.Data;
using System.Data;
using System.Runtime.InteropServices;
using Npgsql;

namespace ChatStats.Bot.Stats;

/// <summary>The most used words of a period, and how many texts and counted words they came from.</summary>
internal sealed record WordTop(IReadOnlyList<WordCount> Words, long Texts, long Uses);

/// <summary>
/// Top words of a chat from the word rollup (Data.WordRollup): the whole UTC days of the period from the packed days
/// and the word rows not packed yet (all time from <c>chat_words</c>), what is still pending and the part-days at either
/// end of a period in a chat's own zone counted from the texts — all in one snapshot, so the answer equals a recount of
/// the stored texts at that moment. A member's words (<c>/words @user</c>) come from their packed days
/// (<c>chat_member_word_days</c>, written when a day is packed) the same way; the days not packed as they stand (changes
/// pending or folded since, today) and the part-days at the ends are counted from the member's texts.
/// </summary>
internal sealed class WordQueries(NpgsqlDataSource dataSource, TimeProvider time, QueryTimer? timer = null)
{
    public async Task<WordTop> TopAsync(long chatId, Period period, long? userId, int count, CancellationToken ct)
    {
        using var timing = timer?.Start("words_top");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var (days, edges) = Split(period, time.GetUtcNow());
        // What the rollup does not hold yet, or holds for more than the period: counted here, exactly.
        var adjust = new Dictionary<string, long>(StringComparer.Ordinal);
        long texts = 0, uses = 0;
        void Count(string text, int sign)
        {
            texts += sign;
            foreach (var word in WordCounter.CountedWords(text))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(adjust, word, out _) += sign;
                uses += sign;
            }
        }
        foreach (var (from, to) in edges)
        {
            await foreach (var text in TextsAsync(connection, tx, chatId, from, to, userId, ct))
            {
                Count(text, 1);
            }
        }
        if (userId is { } member)
        {
            if (days is { } whole)
            {
                var (packedTexts, packedUses) = await AddMemberDaysAsync(connection, tx, chatId, member, period, whole, adjust, count, Count, ct);
                texts += packedTexts;
                uses += packedUses;
            }
            await tx.CommitAsync(ct);
            return new WordTop(Top(adjust, count), texts, uses);
        }
        if (days is { } span)
        {
            await using var pending = InRange(new NpgsqlCommand(
                "SELECT sign, texts FROM chat_words_pending WHERE chat_id = @chat AND day >= @first AND day <= @last", connection, tx), chatId, span);
            await using (var reader = await pending.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var sign = reader.GetInt16(0);
                    foreach (var text in reader.GetFieldValue<string[]>(1))
                    {
                        Count(text, sign);
                    }
                }
            }

            await using var sums = InRange(new NpgsqlCommand(
                "SELECT coalesce(sum(texts), 0)::bigint, coalesce(sum(uses), 0)::bigint FROM chat_word_days WHERE chat_id = @chat AND day >= @first AND day <= @last",
                connection, tx), chatId, span);
            await using (var reader = await sums.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                texts += reader.GetInt64(0);
                uses += reader.GetInt64(1);
            }
        }

        var merged = new Dictionary<string, long>(adjust, StringComparer.Ordinal);
        if (days is { First: var first, Last: var last } && first == DateOnly.MinValue && last == DateOnly.MaxValue)
        {
            // All time: the all-time totals' top words, with as many more as pending changes could push out of the top,
            // and their totals for every word pending changes touch. Any other word counts no more than the last of
            // those, so the top is exact.
            await using var top = new NpgsqlCommand("""
                (SELECT word, uses FROM chat_words WHERE chat_id = @chat ORDER BY uses DESC, word LIMIT @count)
                UNION
                (SELECT word, uses FROM chat_words WHERE chat_id = @chat AND word = ANY (@words))
                """, connection, tx)
                .With("chat", chatId).With("count", count + adjust.Count(p => p.Value < 0)).With<string[]>("words", [.. adjust.Keys]);
            await using var reader = await top.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(merged, reader.GetString(0), out _) += reader.GetInt64(1);
            }
        }
        else if (days is { } whole)
        {
            // The word rows not packed yet (today's, and late changes to older days) are exact amounts too.
            await using (var rows = InRange(new NpgsqlCommand(
                "SELECT word, sum(uses)::bigint FROM chat_word_daily WHERE chat_id = @chat AND day >= @first AND day <= @last GROUP BY word", connection, tx), chatId, whole))
            {
                await using var reader = await rows.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(merged, reader.GetString(0), out _) += reader.GetInt64(1);
                }
            }
            await AddPackedAsync(connection, tx, new PackedDays("chat_word_days", chatId, whole), merged, count, ct);
        }
        await tx.CommitAsync(ct);
        return new WordTop(Top(merged, count), texts, uses);
    }

    /// <summary>
    /// A member's words of the whole days: the days packed for them (busy days, packed as they stand: no change pending
    /// or folded since) from their rows, every other day from their texts, found through the index on (chat, sender,
    /// time). Returns the texts and words the rows held; the texts are counted with <paramref name="count"/>.
    /// </summary>
    private static async Task<(long Texts, long Uses)> AddMemberDaysAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long chatId, long member,
        Period period, (DateOnly First, DateOnly Last) whole, Dictionary<string, long> exact, int top, Action<string, int> count, CancellationToken ct)
    {
        var packed = new List<DateOnly>();
        await using (var read = InRange(new NpgsqlCommand("""
            SELECT day FROM chat_member_word_days m
            WHERE chat_id = @chat AND day >= @first AND day <= @last AND user_id = @user
              AND NOT EXISTS (SELECT 1 FROM chat_word_days d WHERE d.chat_id = m.chat_id AND d.day = m.day AND d.dirty)
              AND NOT EXISTS (SELECT 1 FROM chat_words_pending p WHERE p.chat_id = m.chat_id AND p.day = m.day)
            ORDER BY 1
            """, connection, tx), chatId, whole).With("user", member))
        {
            await using var reader = await read.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                packed.Add(reader.GetFieldValue<DateOnly>(0));
            }
        }
        // The other days, as time ranges inside the period.
        var (from, to) = (period.From ?? DateTimeOffset.UnixEpoch, period.To);
        var starts = new List<DateTimeOffset>();
        var ends = new List<DateTimeOffset>();
        var next = whole.First;
        foreach (var day in packed.Append(whole.Last == DateOnly.MaxValue ? DateOnly.MaxValue : whole.Last.AddDays(1)))
        {
            if (day > next)
            {
                var start = next == DateOnly.MinValue ? from : Max(Midnight(next), from);
                var end = day == DateOnly.MaxValue ? to : Min(Midnight(day), to);
                if (start < end)
                {
                    starts.Add(start);
                    ends.Add(end);
                }
            }
            next = day == DateOnly.MaxValue ? day : day.AddDays(1);
        }
        if (starts.Count > 0)
        {
            await using var texts = new NpgsqlCommand("""
                SELECT m.text FROM unnest(@starts::timestamptz[], @ends::timestamptz[]) AS r(f, t)
                CROSS JOIN LATERAL (SELECT text FROM messages
                                    WHERE chat_id = @chat AND sender_user_id = @user AND sent_at >= r.f AND sent_at < r.t AND text IS NOT NULL AND counted) m
                """, connection, tx)
                .With("chat", chatId).With("user", member).With<DateTimeOffset[]>("starts", [.. starts]).With<DateTimeOffset[]>("ends", [.. ends]);
            await using var reader = await texts.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                count(reader.GetString(0), 1);
            }
        }
        if (packed.Count == 0)
        {
            return (0, 0);
        }
        var rows = new PackedDays("chat_member_word_days", chatId, whole, member, [.. packed]);
        long packedTexts, packedUses;
        await using (var sums = rows.Command("coalesce(sum(texts), 0)::bigint, coalesce(sum(uses), 0)::bigint", connection, tx))
        await using (var reader = await sums.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (packedTexts, packedUses) = (reader.GetInt64(0), reader.GetInt64(1));
        }
        if (whole is { First: var first, Last: var last } && first == DateOnly.MinValue && last == DateOnly.MaxValue)
        {
            // All time: the member's totals over their packed days, less the rows of days not packed as they stand
            // (counted from the texts above) — every word, so the top is exact.
            await using var totals = new NpgsqlCommand("""
                SELECT word, uses::bigint FROM chat_member_words WHERE chat_id = @chat AND user_id = @user
                UNION ALL
                SELECT u.word, -u.uses::bigint FROM chat_member_word_days d,
                       unnest(coalesce(d.words, d.head_words), coalesce(d.counts, d.head_counts)) AS u(word, uses)
                WHERE d.chat_id = @chat AND d.user_id = @user AND d.day <> ALL (@packed)
                """, connection, tx)
                .With("chat", chatId).With("user", member).With<DateOnly[]>("packed", [.. packed]);
            await using var reader = await totals.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(exact, reader.GetString(0), out _) += reader.GetInt64(1);
            }
        }
        else
        {
            await AddPackedAsync(connection, tx, rows, exact, top, ct);
        }
        return (packedTexts, packedUses);

        static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
        static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
    }

    /// <summary>
    /// Adds the packed days' counts of every word that can be in the top <paramref name="count"/> to
    /// <paramref name="exact"/> (which holds every other exact amount already). Each packed day keeps its most used
    /// words apart (its head) and the count of the first word after them: a word's total is at least what the heads
    /// say and at most that plus those counts of the days whose head lacks it. Words whose most cannot reach the least
    /// of the top are left out; the others' counts outside the heads are read from the days' full arrays. When the
    /// bounds cannot settle it (days as flat as their heads are long), every day's full arrays are added instead.
    /// </summary>
    private static async Task AddPackedAsync(NpgsqlConnection connection, NpgsqlTransaction tx, PackedDays packed,
        Dictionary<string, long> exact, int count, CancellationToken ct)
    {
        // RestMax: the most a word past the head can count (0 when the rest is below zero, in a day whose texts were
        // taken out before the fold that added them ran); HasRest: whether there are words past the head at all.
        var heads = new List<(DateOnly Day, string[] Words, int[] Counts, int RestMax, bool HasRest)>();
        await using (var read = packed.Command("day, head_words, head_counts, rest_max", connection, tx, "head_words IS NOT NULL"))
        {
            await using var reader = await read.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var next = reader.IsDBNull(3) ? (int?)null : reader.GetInt32(3);
                heads.Add((reader.GetFieldValue<DateOnly>(0), reader.GetFieldValue<string[]>(1), reader.GetFieldValue<int[]>(2), Math.Max(0, next ?? 0), next is not null));
            }
        }
        var least = new Dictionary<string, long>(exact, StringComparer.Ordinal);
        var listed = new Dictionary<string, long>(StringComparer.Ordinal);
        long rest = 0;
        foreach (var (_, words, counts, restMax, _) in heads)
        {
            for (var i = 0; i < words.Length; i++)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(least, words[i], out _) += counts[i];
                // What the days whose head lists the word could add beyond it, subtracted below.
                CollectionsMarshal.GetValueRefOrAddDefault(listed, words[i], out _) += restMax;
            }
            rest += restMax;
        }
        var threshold = Top(least, count) is { Count: var found } top && found == count ? top[^1].Count : 0;
        var candidates = least.Where(p => p.Value + rest - listed.GetValueOrDefault(p.Key) >= Math.Max(1, threshold)).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        // A word in no head and no exact amount could still reach the top when the days' rests add up to it.
        var settled = rest == 0 || (threshold > 0 && rest < threshold);
        var probe = settled
            ? heads.Where(h => h.HasRest && candidates.Any(w => Array.IndexOf(h.Words, w) < 0)).Select(h => h.Day).ToArray()
            : [.. heads.Select(h => h.Day)];
        var wanted = settled ? candidates : null;
        foreach (var (_, words, counts, _, _) in heads)
        {
            for (var i = 0; i < words.Length; i++)
            {
                if (wanted is null || wanted.Contains(words[i]))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(exact, words[i], out _) += counts[i];
                }
            }
        }
        if (probe.Length > 0)
        {
            // The rest of the days that need it: the words past each head.
            await using var full = packed.Command(
                "coalesce(words[cardinality(head_words) + 1:], '{}'), coalesce(counts[cardinality(head_words) + 1:], '{}')", connection, tx, only: probe);
            await using var rows = await full.ExecuteReaderAsync(ct);
            while (await rows.ReadAsync(ct))
            {
                var (words, counts) = (rows.GetFieldValue<string[]>(0), rows.GetFieldValue<int[]>(1));
                for (var i = 0; i < words.Length; i++)
                {
                    if (wanted is null || wanted.Contains(words[i]))
                    {
                        CollectionsMarshal.GetValueRefOrAddDefault(exact, words[i], out _) += counts[i];
                    }
                }
            }
        }
        if (wanted is not null)
        {
            // Words outside the candidates cannot reach the top: leave them out, whatever exact amounts they have.
            foreach (var word in exact.Keys.Where(w => !wanted.Contains(w)).ToList())
            {
                exact.Remove(word);
            }
        }
    }

    /// <summary>The <paramref name="count"/> largest positive counts, largest first, ties in ordinal order of the word.</summary>
    internal static List<WordCount> Top(Dictionary<string, long> counts, int count)
    {
        // A bounded heap whose root is the weakest kept: the smallest count, and of equal counts the last word.
        var heap = new PriorityQueue<string, (long Count, string Word)>(count + 1, Comparer<(long Count, string Word)>.Create(
            (a, b) => a.Count != b.Count ? a.Count.CompareTo(b.Count) : -string.CompareOrdinal(a.Word, b.Word)));
        foreach (var (word, n) in counts)
        {
            if (n <= 0)
            {
                continue;
            }
            if (heap.Count < count)
            {
                heap.Enqueue(word, (n, word));
            }
            else if (heap.TryPeek(out _, out var weakest) && (n > weakest.Count || (n == weakest.Count && string.CompareOrdinal(word, weakest.Word) < 0)))
            {
                heap.DequeueEnqueue(word, (n, word));
            }
        }
        var top = new List<WordCount>(heap.Count);
        while (heap.TryDequeue(out var word, out var priority))
        {
            top.Add(new WordCount(word, priority.Count));
        }
        top.Reverse();
        return top;
    }

    /// <summary>The period as whole UTC days (the rollup's) and the part-days at its ends (counted from the texts).</summary>
    internal static ((DateOnly First, DateOnly Last)? Days, List<(DateTimeOffset From, DateTimeOffset To)> Edges) Split(Period period, DateTimeOffset now)
    {
        var edges = new List<(DateTimeOffset, DateTimeOffset)>();
        var from = period.From?.ToUniversalTime();
        var to = period.To.ToUniversalTime();
        // Whole days start at the first UTC midnight in the period. A period that ends after now ends at no midnight:
        // nothing is written after now, so its last day is whole as far as anyone can tell.
        var firstMidnight = from is { } f ? Midnight(f) < f ? Midnight(f).AddDays(1) : f : (DateTimeOffset?)null;
        var lastMidnight = to > now ? (DateTimeOffset?)null : Midnight(to);
        if (firstMidnight is { } a && lastMidnight is { } b && a >= b)
        {
            edges.Add((from!.Value, to));
            return (null, edges);
        }
        if (from is { } start && firstMidnight is { } first && start < first)
        {
            edges.Add((start, first));
        }
        if (lastMidnight is { } last && last < to)
        {
            edges.Add((last, to));
        }
        var firstDay = firstMidnight is { } m ? DateOnly.FromDateTime(m.UtcDateTime) : DateOnly.MinValue;
        var lastDay = lastMidnight is { } n ? DateOnly.FromDateTime(n.UtcDateTime).AddDays(-1) : DateOnly.MaxValue;
        return ((firstDay, lastDay), edges);
    }

    private static DateTimeOffset Midnight(DateTimeOffset t) => new(t.UtcDateTime.Date, TimeSpan.Zero);

    private static DateTimeOffset Midnight(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>
    /// Packed days of a chat (<c>chat_word_days</c>) or of one of its members (<c>chat_member_word_days</c>, the days
    /// listed): the same columns, read the same way.
    /// </summary>
    private sealed record PackedDays(string Table, long ChatId, (DateOnly First, DateOnly Last) Days, long? UserId = null, DateOnly[]? Only = null)
    {
        public NpgsqlCommand Command(string select, NpgsqlConnection connection, NpgsqlTransaction tx, string? where = null, DateOnly[]? only = null)
        {
            var cmd = InRange(new NpgsqlCommand { Connection = connection, Transaction = tx }, ChatId, Days);
            var sql = new System.Text.StringBuilder($"SELECT {select} FROM {Table} WHERE chat_id = @chat AND day >= @first AND day <= @last");
            if (UserId is { } user)
            {
                cmd.With("user", user).With<DateOnly[]>("listed", Only ?? []);
                sql.Append(" AND user_id = @user AND day = ANY (@listed)");
            }
            if (only is not null)
            {
                cmd.With("only", only);
                sql.Append(" AND day = ANY (@only)");
            }
            if (where is not null)
            {
                sql.Append($" AND {where}");
            }
            cmd.CommandText = sql.ToString();
            return cmd;
        }
    }

    /// <summary>@chat, and the whole days from @first to @last.</summary>
    private static NpgsqlCommand InRange(NpgsqlCommand cmd, long chatId, (DateOnly First, DateOnly Last) days) =>
        cmd.With("chat", chatId).With("first", days.First).With("last", days.Last);

    /// <summary>The counted texts of a span, as the rollup counts them (a member's only, when given).</summary>
    private static async IAsyncEnumerable<string> TextsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long chatId,
        DateTimeOffset from, DateTimeOffset to, long? userId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            SELECT text FROM messages
            WHERE chat_id = @chat AND sent_at >= @from AND sent_at < @to AND text IS NOT NULL AND counted
              {(userId is null ? "" : "AND sender_user_id = @user")}
            """, connection, tx).With("chat", chatId).With("from", from).With("to", to);
        if (userId is { } id)
        {
            cmd.With("user", id);
        }
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return reader.GetString(0);
        }
    }
}
