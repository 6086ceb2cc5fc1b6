using System.Runtime.InteropServices;
using Npgsql;

namespace ChatStats.Bot.Data;

/// <summary>
/// Word counts as a rollup, always equal to a recount of the stored texts with <see cref="WordCounter.CountedWords"/>:
/// per chat and UTC day (<c>chat_word_days</c>: the texts and words the day counted, and its words packed as two arrays,
/// most used first), per chat all time (<c>chat_words</c>), and changes not packed yet (<c>chat_word_daily</c>: one row
/// per chat, day and word — today's words, and late changes to older days until they are packed).
/// <para>
/// Counting words is C#'s business (the stop words, every script), and it stays off the write path: statement-level
/// triggers on <c>messages</c> append every change of a counted text — an insert, an edit (the old text out, the new in),
/// a delete by /forgetme or retention, text dropped by an opt-out, a supergroup migration (out of the old chat, into the
/// new) — to <c>chat_words_pending</c> as one row per chat and day holding the texts and a sign. That costs a write
/// about the size of the texts, once per statement. <see cref="FoldAsync"/> takes pending rows (a folder in the bot,
/// a recurring job in the workers), counts their words and adds them to the day rows and the all-time totals in one
/// transaction. The deltas are additive, so rows may be folded in any order, by several processes at once; until a
/// row is folded, readers count it themselves (<see cref="WordQueries"/>), so an answer is exact at any moment.
/// </para>
/// <para>
/// <see cref="PackAsync"/> merges the rows of a finished day into its packed arrays: a row per word per day would cost
/// about three rows per message in a busy chat (a day holds thousands of distinct words), a packed day is one row,
/// compressed. UTC days keep a chat's periods exact the way the hourly rollups do: a period in a whole-hour zone starts
/// and ends on UTC hours, so it is whole UTC days plus at most part of a day at each end, which readers count from the
/// texts.
/// </para>
/// </summary>
internal static class WordRollup
{
    /// <summary>
    /// Texts one fold transaction takes, about: whole pending rows (a chat's texts of one day in one statement — a few in
    /// live traffic, a whole day's in the backfill) until this many, at least one row.
    /// </summary>
    public const int TextsPerFold = 4096;

    private const string Day = "(sent_at AT TIME ZONE 'UTC')::date";

    public const string CreateTables = """
        CREATE TABLE chat_words_pending (
          chat_id bigint NOT NULL, day date NOT NULL, sign smallint NOT NULL, texts text[] NOT NULL);
        CREATE TABLE chat_word_daily (
          chat_id bigint NOT NULL, day date NOT NULL, word text COLLATE "C" NOT NULL, uses integer NOT NULL,
          CONSTRAINT pk_chat_word_daily PRIMARY KEY (chat_id, day, word)) WITH (fillfactor = 90);
        CREATE TABLE chat_words (
          chat_id bigint NOT NULL, word text COLLATE "C" NOT NULL, uses bigint NOT NULL,
          CONSTRAINT pk_chat_words PRIMARY KEY (chat_id, word)) WITH (fillfactor = 80);
        CREATE TABLE chat_word_days (
          chat_id bigint NOT NULL, day date NOT NULL, texts integer NOT NULL, uses bigint NOT NULL,
          words text[] COLLATE "C", counts integer[], head_words text[] COLLATE "C", head_counts integer[], rest_max integer,
          dirty boolean NOT NULL DEFAULT false,
          CONSTRAINT pk_chat_word_days PRIMARY KEY (chat_id, day)) WITH (fillfactor = 80);
        ALTER TABLE chat_word_days ALTER COLUMN words SET COMPRESSION lz4, ALTER COLUMN counts SET COMPRESSION lz4;
        CREATE INDEX ix_chat_word_days_dirty ON chat_word_days (day) WHERE dirty;
        """;

    private static readonly StatementTriggers Triggers = new("messages", "words", "messages_words");

    /// <summary>A statement's counted texts, by chat and day, queued with a sign: 1 for <c>new_rows</c>, -1 for <c>old_rows</c>.</summary>
    private static string Queue(int sign, string rows) => $"""
        INSERT INTO chat_words_pending (chat_id, day, sign, texts)
          SELECT chat_id, {Day}, {sign}, array_agg(text) FROM {rows} WHERE counted AND text IS NOT NULL GROUP BY 1, 2;
        """;

    /// <summary>Only rows whose counted text changed move: most updates of messages (a forgotten member's replies) touch none.</summary>
    private const string QueueChanged = """
        INSERT INTO chat_words_pending (chat_id, day, sign, texts)
          SELECT chat_id, day, sign, array_agg(text)
          FROM (SELECT o.chat_id, (o.sent_at AT TIME ZONE 'UTC')::date AS day, -1 AS sign, o.text,
                       o.counted AND o.text IS NOT NULL AS was_counted, n.counted AND n.text IS NOT NULL AS is_counted,
                       (o.text, o.counted, o.sent_at) IS DISTINCT FROM (n.text, n.counted, n.sent_at) AS changed
                FROM old_rows o JOIN new_rows n USING (chat_id, message_id)
                UNION ALL
                SELECT n.chat_id, (n.sent_at AT TIME ZONE 'UTC')::date, 1, n.text,
                       o.counted AND o.text IS NOT NULL, n.counted AND n.text IS NOT NULL,
                       (o.text, o.counted, o.sent_at) IS DISTINCT FROM (n.text, n.counted, n.sent_at)
                FROM old_rows o JOIN new_rows n USING (chat_id, message_id)) c
          WHERE changed AND CASE WHEN sign = -1 THEN was_counted ELSE is_counted END
          GROUP BY 1, 2, 3;
        """;

    /// <summary>The triggers, and every text already stored made pending: the folder counts the history in the background.</summary>
    public static readonly string Create = $"""
        {Triggers.Functions("CREATE", inserted: Queue(1, "new_rows"), updated: QueueChanged, deleted: Queue(-1, "old_rows"))}
        {Triggers.Create}
        {Queue(1, "messages")}
        """;

    public static readonly string Drop = $"""
        {Triggers.Drop}
        DROP TABLE IF EXISTS chat_words_pending, chat_word_daily, chat_words, chat_word_days;
        """;

    /// <summary>
    /// The words of a member's busy days (<c>/words @user</c>): a row per member and packed day with at least
    /// <see cref="MemberDayMinTexts"/> texts, in the shape of <c>chat_word_days</c> — the head, and the full arrays only
    /// when there are words past it. Every member-day would cost more than the messages themselves (a row for one or
    /// two texts); the busy ones hold what is slow to count from the texts, and readers count the other days from the
    /// texts, found through the index on (chat, sender, time). The packer rewrites a day's rows whenever it packs the day. Every day packed
    /// before these existed is marked for packing again, so the packer fills them in. <c>chat_member_words</c> holds
    /// each member's totals over their packed days, for their all-time top.
    /// </summary>
    public const string CreateMemberDays = """
        CREATE TABLE chat_member_word_days (
          chat_id bigint NOT NULL, user_id bigint NOT NULL, day date NOT NULL, texts integer NOT NULL, uses integer NOT NULL,
          head_words text[] COLLATE "C" NOT NULL, head_counts integer[] NOT NULL, rest_max integer,
          words text[] COLLATE "C", counts integer[],
          CONSTRAINT pk_chat_member_word_days PRIMARY KEY (chat_id, user_id, day));
        ALTER TABLE chat_member_word_days ALTER COLUMN words SET COMPRESSION lz4, ALTER COLUMN counts SET COMPRESSION lz4;
        CREATE TABLE chat_member_words (
          chat_id bigint NOT NULL, user_id bigint NOT NULL, word text COLLATE "C" NOT NULL, uses integer NOT NULL,
          CONSTRAINT pk_chat_member_words PRIMARY KEY (chat_id, user_id, word)) WITH (fillfactor = 80);
        UPDATE chat_word_days SET dirty = true WHERE NOT dirty;
        """;

    /// <summary>
    /// Texts a member must have written in a day for the day to be packed for them: below it, counting their texts of
    /// the day is cheaper than a row (a month of days under it is at most ~1,000 texts, a few milliseconds).
    /// </summary>
    public const int MemberDayMinTexts = 32;

    public const string DropMemberDays = "DROP TABLE IF EXISTS chat_member_word_days, chat_member_words;";

    /// <summary>Folds pending rows until none are left that another folder has not taken; returns the texts counted.</summary>
    public static async Task<long> FoldAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        long texts = 0;
        while (await FoldOnceAsync(dataSource, ct) is var folded and > 0)
        {
            texts += folded;
        }
        return texts;
    }

    /// <summary>Folds about <see cref="TextsPerFold"/> pending texts in one transaction; returns the texts counted, 0 when none were pending.</summary>
    public static async Task<long> FoldOnceAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var counts = new Counts();
        await using (var take = new NpgsqlCommand("""
            WITH locked AS (SELECT ctid, cardinality(texts) AS n FROM chat_words_pending LIMIT 1024 FOR UPDATE SKIP LOCKED),
            taken AS (SELECT ctid FROM (SELECT ctid, sum(n) OVER (ORDER BY ctid) - n AS before FROM locked) l WHERE before < @texts)
            DELETE FROM chat_words_pending WHERE ctid IN (SELECT ctid FROM taken)
            RETURNING chat_id, day, sign, texts
            """, connection, tx).With("texts", TextsPerFold))
        {
            await using var reader = await take.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                counts.Add(reader.GetInt64(0), reader.GetFieldValue<DateOnly>(1), reader.GetInt16(2), reader.GetFieldValue<string[]>(3));
            }
        }
        if (counts.Texts == 0)
        {
            return 0;
        }
        await using var batch = new NpgsqlBatch(connection, tx);
        counts.AddUpserts(batch);
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return counts.Texts;
    }

    /// <summary>
    /// Words a packed day keeps apart, most used first, with the count of the next (<c>rest_max</c>, null when there is
    /// none): enough for <see cref="WordQueries"/> to settle a month's top words from thirty heads in all but flat chats.
    /// </summary>
    public const int HeadLength = 256;

    /// <summary>Days one pack transaction takes.</summary>
    public const int DaysPerPack = 8;

    /// <summary>Packs every finished day with changes (before <paramref name="today"/>, UTC); returns the days packed.</summary>
    public static async Task<int> PackAsync(NpgsqlDataSource dataSource, DateOnly today, CancellationToken ct)
    {
        var packed = 0;
        while (await PackOnceAsync(dataSource, today, ct) is var days and > 0)
        {
            packed += days;
        }
        return packed;
    }

    /// <summary>
    /// Merges the word rows of up to <see cref="DaysPerPack"/> finished days into their packed arrays, most used first.
    /// Counts are kept as they are, below zero too: folds run in any order, so a text's words may be taken out before
    /// the fold that added them has run.
    /// </summary>
    public static async Task<int> PackOnceAsync(NpgsqlDataSource dataSource, DateOnly today, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var days = new List<(long Chat, DateOnly Day, string[] Words, int[] Counts)>();
        await using (var take = new NpgsqlCommand("""
            SELECT chat_id, day, coalesce(words, '{}'), coalesce(counts, '{}') FROM chat_word_days
            WHERE dirty AND day < @today ORDER BY day LIMIT @days FOR UPDATE SKIP LOCKED
            """, connection, tx).With("today", today).With("days", DaysPerPack))
        {
            await using var reader = await take.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                days.Add((reader.GetInt64(0), reader.GetFieldValue<DateOnly>(1), reader.GetFieldValue<string[]>(2), reader.GetFieldValue<int[]>(3)));
            }
        }
        foreach (var (chat, day, words, counts) in days)
        {
            var merged = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
            for (var i = 0; i < words.Length; i++)
            {
                merged[words[i]] = counts[i];
            }
            await using (var rows = new NpgsqlCommand("DELETE FROM chat_word_daily WHERE chat_id = @chat AND day = @day RETURNING word, uses", connection, tx)
                .With("chat", chat).With("day", day))
            {
                await using var reader = await rows.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(merged, reader.GetString(0), out _) += reader.GetInt32(1);
                }
            }
            var sorted = merged.Where(p => p.Value != 0).OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
            // A day with nothing left (its texts deleted by retention, or moved by a migration) goes.
            await using var write = new NpgsqlBatch(connection, tx);
            if (sorted.Count == 0)
            {
                write.BatchCommands.Add(DayCommand("DELETE FROM chat_word_days WHERE chat_id = @chat AND day = @day AND texts = 0 AND uses = 0", chat, day));
            }
            write.BatchCommands.Add(DayCommand("""
                UPDATE chat_word_days SET words = @words, counts = @counts, head_words = (@words::text[])[:@head], head_counts = (@counts::int[])[:@head],
                                          rest_max = (@counts::int[])[@head + 1], dirty = false
                WHERE chat_id = @chat AND day = @day
                """, chat, day)
                .With<string[]>("words", [.. sorted.Select(p => p.Key)]).With<int[]>("counts", [.. sorted.Select(p => p.Value)]).With("head", HeadLength));
            await write.ExecuteNonQueryAsync(ct);
            await PackMembersAsync(connection, tx, chat, day, ct);
        }
        await tx.CommitAsync(ct);
        return days.Count;
    }

    /// <summary>
    /// Writes the words of each member busy on a day (<see cref="MemberDayMinTexts"/>), recounted from the day's texts.
    /// The day's row is locked by the pack: a fold touching the day waits for it, then marks the day for packing again, so packed member rows always equal the
    /// texts of a day that is neither marked nor pending — the texts read here include every change committed before
    /// (whose pending rows keep readers on the texts until the day is packed again).
    /// </summary>
    private static async Task PackMembersAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long chat, DateOnly day, CancellationToken ct)
    {
        var members = new Dictionary<long, (int Texts, int Uses, Dictionary<string, int> Words)>();
        var from = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        await using (var read = new NpgsqlCommand("""
            SELECT sender_user_id, text FROM messages
            WHERE chat_id = @chat AND sent_at >= @from AND sent_at < @to AND counted AND text IS NOT NULL AND sender_user_id IS NOT NULL
            """, connection, tx).With("chat", chat).With("from", from).With("to", from.AddDays(1)))
        {
            await using var reader = await read.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                ref var member = ref CollectionsMarshal.GetValueRefOrAddDefault(members, reader.GetInt64(0), out var known);
                if (!known)
                {
                    member.Words = new Dictionary<string, int>(StringComparer.Ordinal);
                }
                member.Texts++;
                foreach (var word in WordCounter.CountedWords(reader.GetString(1)))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(member.Words, word, out _)++;
                    member.Uses++;
                }
            }
        }
        var busy = members.Where(m => m.Value.Texts >= MemberDayMinTexts).ToList();
        // The day's rows go, and their words out of the members' totals; the new rows' words go in.
        var totals = new Dictionary<(long User, string Word), int>();
        await using (var old = new NpgsqlCommand("""
            DELETE FROM chat_member_word_days WHERE chat_id = @chat AND day = @day
            RETURNING user_id, coalesce(words, head_words), coalesce(counts, head_counts)
            """, connection, tx).With("chat", chat).With("day", day))
        {
            await using var reader = await old.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var (user, words, counts) = (reader.GetInt64(0), reader.GetFieldValue<string[]>(1), reader.GetFieldValue<int[]>(2));
                for (var i = 0; i < words.Length; i++)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(totals, (user, words[i]), out _) -= counts[i];
                }
            }
        }
        foreach (var (user, (_, _, words)) in busy)
        {
            foreach (var (word, n) in words)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(totals, (user, word), out _) += n;
            }
        }
        var changed = totals.Where(p => p.Value != 0).OrderBy(p => p.Key.User).ThenBy(p => p.Key.Word, StringComparer.Ordinal).ToList();
        if (changed.Count > 0)
        {
            await using var upsert = new NpgsqlBatch(connection, tx);
            upsert.BatchCommands.Add(new NpgsqlBatchCommand("""
                INSERT INTO chat_member_words AS t (chat_id, user_id, word, uses)
                SELECT @chat, k.user_id, k.word, k.uses FROM unnest(@users::bigint[], @words::text[], @uses::int[]) AS k(user_id, word, uses)
                ON CONFLICT (chat_id, user_id, word) DO UPDATE SET uses = t.uses + excluded.uses
                """).With("chat", chat).With<long[]>("users", [.. changed.Select(p => p.Key.User)]).With<string[]>("words", [.. changed.Select(p => p.Key.Word)])
                .With<int[]>("uses", [.. changed.Select(p => p.Value)]));
            var fell = changed.Where(p => p.Value < 0).ToList();
            upsert.BatchCommands.Add(new NpgsqlBatchCommand("""
                DELETE FROM chat_member_words t USING unnest(@users::bigint[], @words::text[]) AS k(user_id, word)
                WHERE t.chat_id = @chat AND t.user_id = k.user_id AND t.word = k.word AND t.uses = 0
                """).With("chat", chat).With<long[]>("users", [.. fell.Select(p => p.Key.User)]).With<string[]>("words", [.. fell.Select(p => p.Key.Word)]));
            await upsert.ExecuteNonQueryAsync(ct);
        }
        if (busy.Count == 0)
        {
            return;
        }
        await using var copy = await connection.BeginBinaryImportAsync("""
            COPY chat_member_word_days (chat_id, user_id, day, texts, uses, head_words, head_counts, rest_max, words, counts)
            FROM STDIN (FORMAT BINARY)
            """, ct);
        foreach (var (user, (texts, uses, words)) in busy)
        {
            var sorted = words.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToArray();
            var head = Math.Min(sorted.Length, HeadLength);
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(chat, NpgsqlTypes.NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(user, NpgsqlTypes.NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(day, NpgsqlTypes.NpgsqlDbType.Date, ct);
            await copy.WriteAsync(texts, NpgsqlTypes.NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(uses, NpgsqlTypes.NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(Keys(sorted.AsSpan(0, head)), TextArray, ct);
            await copy.WriteAsync(Amounts(sorted.AsSpan(0, head)), IntegerArray, ct);
            if (sorted.Length > HeadLength)
            {
                await copy.WriteAsync(sorted[HeadLength].Value, NpgsqlTypes.NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(Keys(sorted), TextArray, ct);
                await copy.WriteAsync(Amounts(sorted), IntegerArray, ct);
            }
            else
            {
                await copy.WriteNullAsync(ct);
                await copy.WriteNullAsync(ct);
                await copy.WriteNullAsync(ct);
            }
        }
        await copy.CompleteAsync(ct);

        static string[] Keys(ReadOnlySpan<KeyValuePair<string, int>> words)
        {
            var keys = new string[words.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = words[i].Key;
            }
            return keys;
        }

        static int[] Amounts(ReadOnlySpan<KeyValuePair<string, int>> words)
        {
            var amounts = new int[words.Length];
            for (var i = 0; i < amounts.Length; i++)
            {
                amounts[i] = words[i].Value;
            }
            return amounts;
        }
    }

    private const NpgsqlTypes.NpgsqlDbType TextArray = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text;
    private const NpgsqlTypes.NpgsqlDbType IntegerArray = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Integer;

    /// <summary>A statement about one chat's day: @chat and @day.</summary>
    private static NpgsqlBatchCommand DayCommand(string sql, long chat, DateOnly day) => new NpgsqlBatchCommand(sql).With("chat", chat).With("day", day);

    /// <summary>The signed word counts of a set of pending rows, by chat and day.</summary>
    private sealed class Counts
    {
        private readonly Dictionary<(long Chat, DateOnly Day, string Word), int> _daily = [];
        private readonly Dictionary<(long Chat, string Word), long> _totals = [];

        public Dictionary<(long Chat, DateOnly Day), (int Texts, long Uses)> Days { get; } = [];

        /// <summary>Texts seen, whatever their sign (a pending row holds at least one).</summary>
        public long Texts { get; private set; }

        public void Add(long chat, DateOnly day, short sign, string[] texts)
        {
            long uses = 0;
            foreach (var text in texts)
            {
                foreach (var word in WordCounter.CountedWords(text))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(_daily, (chat, day, word), out _) += sign;
                    CollectionsMarshal.GetValueRefOrAddDefault(_totals, (chat, word), out _) += sign;
                    uses++;
                }
            }
            ref var d = ref CollectionsMarshal.GetValueRefOrAddDefault(Days, (chat, day), out _);
            d = (d.Texts + sign * texts.Length, d.Uses + sign * uses);
            Texts += texts.Length;
        }

        /// <summary>
        /// Adds the counts to the three tables, keys in one order for every folder (concurrent folds wait, never
        /// deadlock), and removes the word rows a fold brought to nothing (a day row goes when it is packed empty).
        /// Words whose signs cancelled are left alone; their day is marked for packing all the same.
        /// </summary>
        public void AddUpserts(NpgsqlBatch batch)
        {
            // The day rows first: a fold and a pack of the same day take its row before its words, so they queue there.
            batch.BatchCommands.Add(DayRows.Command(UpsertDays, [.. Days]));
            var daily = _daily.Where(p => p.Value != 0).ToList();
            if (daily.Count > 0)
            {
                batch.BatchCommands.Add(DailyRows.Command(UpsertDaily, daily));
                if (daily.Where(p => p.Value < 0).ToList() is { Count: > 0 } fallen)
                {
                    batch.BatchCommands.Add(DailyRows.Command(DeleteFallenDaily, fallen));
                }
            }
            var totals = _totals.Where(p => p.Value != 0).ToList();
            if (totals.Count > 0)
            {
                batch.BatchCommands.Add(TotalRows.Command(UpsertTotals, totals));
                if (totals.Where(p => p.Value < 0).ToList() is { Count: > 0 } fallen)
                {
                    batch.BatchCommands.Add(TotalRows.Command(DeleteFallenTotals, fallen));
                }
            }
        }

        private static readonly UnnestRows<KeyValuePair<(long Chat, DateOnly Day), (int Texts, long Uses)>> DayRows = new UnnestRows<KeyValuePair<(long Chat, DateOnly Day), (int Texts, long Uses)>>()
            .Column("chat_id", "bigint", p => p.Key.Chat)
            .Column("day", "date", p => p.Key.Day)
            .Column("texts", "int", p => p.Value.Texts)
            .Column("uses", "bigint", p => p.Value.Uses);

        private static readonly UnnestRows<KeyValuePair<(long Chat, DateOnly Day, string Word), int>> DailyRows = new UnnestRows<KeyValuePair<(long Chat, DateOnly Day, string Word), int>>()
            .Column("chat_id", "bigint", p => p.Key.Chat)
            .Column("day", "date", p => p.Key.Day)
            .Column("word", "text", p => p.Key.Word)
            .Column("uses", "int", p => p.Value);

        private static readonly UnnestRows<KeyValuePair<(long Chat, string Word), long>> TotalRows = new UnnestRows<KeyValuePair<(long Chat, string Word), long>>()
            .Column("chat_id", "bigint", p => p.Key.Chat)
            .Column("word", "text", p => p.Key.Word)
            .Column("uses", "bigint", p => p.Value);

        private static readonly string UpsertDays = $"""
            INSERT INTO chat_word_days AS t (chat_id, day, texts, uses, dirty)
            SELECT chat_id, day, texts, uses, true FROM {DayRows.From("k")} ORDER BY chat_id, day
            ON CONFLICT (chat_id, day) DO UPDATE SET texts = t.texts + excluded.texts, uses = t.uses + excluded.uses, dirty = true
            """;

        private static readonly string UpsertDaily = $"""
            INSERT INTO chat_word_daily AS t (chat_id, day, word, uses)
            SELECT chat_id, day, word, uses FROM {DailyRows.From("k")} ORDER BY chat_id, day, word COLLATE "C"
            ON CONFLICT (chat_id, day, word) DO UPDATE SET uses = t.uses + excluded.uses
            """;

        private static readonly string DeleteFallenDaily = $"""
            DELETE FROM chat_word_daily t USING {DailyRows.From("k")}
            WHERE t.chat_id = k.chat_id AND t.day = k.day AND t.word = k.word AND t.uses = 0
            """;

        private static readonly string UpsertTotals = $"""
            INSERT INTO chat_words AS t (chat_id, word, uses)
            SELECT chat_id, word, uses FROM {TotalRows.From("k")} ORDER BY chat_id, word COLLATE "C"
            ON CONFLICT (chat_id, word) DO UPDATE SET uses = t.uses + excluded.uses
            """;

        private static readonly string DeleteFallenTotals = $"""
            DELETE FROM chat_words t USING {TotalRows.From("k")}
            WHERE t.chat_id = k.chat_id AND t.word = k.word AND t.uses = 0
            """;
    }
}
