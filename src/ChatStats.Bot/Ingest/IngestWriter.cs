using ChatStats.Bot.Data;
using Npgsql;
using NpgsqlTypes;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Writes a batch in one transaction and one round trip: multi-row statements over <c>unnest</c>ed arrays, each
/// idempotent, so a replayed batch changes nothing. Rollups move only with rows that actually changed.
/// </summary>
internal sealed class IngestWriter([FromKeyedServices(Data.DatabaseExtensions.IngestPool)] NpgsqlDataSource dataSource)
{
    private static readonly string RollupColumns = string.Join(", ", MessageKinds.Columns);

    private static readonly string RollupFilters = string.Join(",\n       ",
        MessageKinds.All.Select(k => $"count(*) FILTER (WHERE kind = {(short)k})"));

    private static readonly string RollupAdds = string.Join(", ", MessageKinds.Columns.Select(c => $"{c} = h.{c} + excluded.{c}"));

    private static readonly UnnestRows<ChatRow> ChatColumns = new UnnestRows<ChatRow>()
        .Column("id", "bigint", r => r.Id)
        .Column("type", "text", r => r.Type)
        .Column("title", "text", r => r.Title)
        .Column("username", "text", r => r.Username)
        .Column("is_forum", "boolean", r => r.IsForum)
        .Column("seen_at", "timestamptz", r => r.SeenAt);

    private static readonly UnnestRows<UserRow> UserColumns = new UnnestRows<UserRow>()
        .Column("id", "bigint", r => r.Id)
        .Column("is_bot", "boolean", r => r.IsBot)
        .Column("first_name", "text", r => r.FirstName)
        .Column("last_name", "text", r => r.LastName)
        .Column("username", "text", r => r.Username)
        .Column("language_code", "text", r => r.LanguageCode)
        .Column("seen_at", "timestamptz", r => r.SeenAt);

    private static readonly UnnestRows<BotStatusRow> BotStatusColumns = new UnnestRows<BotStatusRow>()
        .Column("chat_id", "bigint", r => r.ChatId)
        .Column("status", "text", r => r.Status)
        .Column("at", "timestamptz", r => r.At);

    private static readonly UnnestRows<MessageRow> MessageColumns = new UnnestRows<MessageRow>()
        .Column("chat_id", "bigint", r => r.ChatId)
        .Column("message_id", "int", r => r.MessageId)
        .Column("sender_user_id", "bigint", r => r.SenderUserId)
        .Column("sender_chat_id", "bigint", r => r.SenderChatId)
        .Column("sent_at", "timestamptz", r => r.SentAt)
        .Column("kind", "smallint", r => r.Kind)
        .Column("text", "text", r => r.Text)
        .Column("char_count", "int", r => r.CharCount)
        .Column("word_count", "int", r => r.WordCount)
        .Column("reply_to_message_id", "int", r => r.ReplyToMessageId)
        .Column("reply_to_user_id", "bigint", r => r.ReplyToUserId)
        .Column("is_forwarded", "boolean", r => r.IsForwarded)
        .Column("thread_id", "int", r => r.ThreadId)
        .Column("edited_at", "timestamptz", r => r.EditedAt)
        .Column("counted", "boolean", r => r.Counted)
        .Column("is_edit", "boolean", r => r.IsEdit);

    private static readonly UnnestRows<EventRow> EventColumns = new UnnestRows<EventRow>()
        .Column("chat_id", "bigint", r => r.ChatId)
        .Column("message_id", "int", r => r.MessageId)
        .Column("seq", "smallint", r => r.Seq)
        .Column("kind", "smallint", r => r.Kind)
        .Column("user_id", "bigint", r => r.UserId)
        .Column("target_user_id", "bigint", r => r.TargetUserId)
        .Column("data", "text", r => r.Data)
        .Column("occurred_at", "timestamptz", r => r.OccurredAt);

    private static readonly UnnestRows<DeadLetterRow> DeadLetterColumns = new UnnestRows<DeadLetterRow>()
        .Column("update_id", "bigint", r => r.UpdateId)
        .Column("chat_id", "bigint", r => r.ChatId)
        .Column("payload", "text", r => TextStats.Clean(r.Payload))
        .Column("error", "text", r => TextStats.Clean(r.Error))
        .Column("failed_at", "timestamptz", r => r.FailedAt);

    public async Task WriteAsync(IngestBatch batch, CancellationToken ct)
    {
        if (batch.IsEmpty)
        {
            return;
        }
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await WriteAsync(batch, connection, tx, [], ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Writes one batch of a bulk load (an import) in its own transaction. Its members' totals wait in
    /// chat_user_totals_pending until the caller runs <see cref="RollupTriggers.FoldPendingAsync"/>, and it commits without
    /// waiting for the WAL flush: a bulk load is repeatable (every row is keyed), and the fold's ordinary commit at the
    /// end makes everything before it durable before the load reports success.
    /// </summary>
    /// <param name="fresh">
    /// The caller knows that none of the batch's messages, and none of its hours of the chat, are recorded yet: the rows
    /// go in with plain inserts, which cost PostgreSQL a third less than the upserts that merge. Should one be there
    /// after all (a live update raced the import), the transaction fails on the key and the batch is written again
    /// the merging way.
    /// </param>
    /// <returns>False when a batch said to be fresh was not, so the caller stops saying so.</returns>
    public async Task<bool> WriteBulkAsync(IngestBatch batch, bool fresh, CancellationToken ct)
    {
        if (batch.IsEmpty)
        {
            return true;
        }
        if (fresh)
        {
            try
            {
                await WriteBulkOnceAsync(batch, fresh: true, ct);
                return true;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
            }
        }
        await WriteBulkOnceAsync(batch, fresh: false, ct);
        return !fresh;
    }

    private async Task WriteBulkOnceAsync(IngestBatch batch, bool fresh, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await WriteAsync(batch, connection, tx, [], ct, bulk: true, fresh: fresh);
        await tx.CommitAsync(ct);
    }

    /// <summary>Writes the batch inside the caller's transaction and removes the inbox rows <paramref name="inboxRows"/>.</summary>
    public async Task WriteAsync(
        IngestBatch batch, NpgsqlConnection connection, NpgsqlTransaction tx, long[] inboxRows, CancellationToken ct, bool bulk = false, bool fresh = false)
    {
        await using var command = new NpgsqlBatch(connection, tx);
        // A batch of thousands of rows can cost past jit_above_cost, and compiling 80-odd functions (about 100 ms) for a
        // statement that runs once costs more than it saves: these statements run interpreted.
        command.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL jit = off"));
        if (bulk)
        {
            command.BatchCommands.Add(new NpgsqlBatchCommand(RollupTriggers.DeferTotals));
            command.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
        }
        // Before any row: a member's choice saved while this chunk is in flight is seen by the chunk or sees its rows.
        command.BatchCommands.Add(new NpgsqlBatchCommand(MemberChoices.LockIngestShared));
        var settings = command.BatchCommands.Count;
        AddChats(command, batch.Chats);
        AddUsers(command, batch.Users);
        AddBotStatuses(command, batch.BotStatuses);
        foreach (var migration in batch.Migrations.Distinct())
        {
            AddMigration(command, migration);
        }
        AddMessages(command, batch.Messages, fresh);
        AddEdits(command, batch.Messages);
        AddEvents(command, batch.Events);
        AddDeadLetters(command, batch.DeadLetters);
        if (inboxRows.Length > 0)
        {
            command.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM update_inbox WHERE id = ANY(@rows)").With("rows", inboxRows));
        }
        if (command.BatchCommands.Count > settings)
        {
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Records failed updates on their own, outside any batch that may be failing.</summary>
    public async Task WriteDeadLettersAsync(IReadOnlyList<DeadLetterRow> rows, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var command = new NpgsqlBatch(connection);
        AddDeadLetters(command, rows);
        if (command.BatchCommands.Count > 0)
        {
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static void AddChats(NpgsqlBatch batch, List<ChatRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        batch.BatchCommands.Add(ChatColumns.Command(UpsertChats, rows));
    }

    private static readonly string UpsertChats = $"""
            WITH rows AS (SELECT * FROM {ChatColumns.From("s")}),
            s AS (SELECT DISTINCT ON (id) * FROM rows ORDER BY id, seen_at DESC),
            earliest AS (SELECT DISTINCT ON (id) id, title, seen_at FROM rows WHERE title IS NOT NULL ORDER BY id, seen_at),
            up AS (
              INSERT INTO chats AS c (id, type, title, username, is_forum, first_seen_at, updated_at)
              SELECT id, type, title, username, is_forum, seen_at, seen_at FROM s
              ON CONFLICT (id) DO UPDATE
                SET type = excluded.type, title = coalesce(excluded.title, c.title), username = excluded.username,
                    is_forum = excluded.is_forum, updated_at = excluded.updated_at
                WHERE c.updated_at <= excluded.updated_at
                  AND (c.type, c.title, c.username, c.is_forum)
                      IS DISTINCT FROM (excluded.type, coalesce(excluded.title, c.title), excluded.username, excluded.is_forum)
              RETURNING id, title, updated_at, (xmax = 0) AS inserted)
            INSERT INTO chat_title_history (chat_id, message_id, title, changed_at)
            SELECT e.id, 0, e.title, e.seen_at FROM up JOIN earliest e ON e.id = up.id WHERE up.inserted
            ON CONFLICT (chat_id, message_id) DO NOTHING
            """;

    private static void AddUsers(NpgsqlBatch batch, List<UserRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        batch.BatchCommands.Add(UserColumns.Command(UpsertUsers, rows));
    }

    private static readonly string UpsertUsers = $"""
            WITH s AS (
              SELECT DISTINCT ON (id) id, is_bot, first_name, last_name, username, language_code, seen_at
              FROM {UserColumns.From("s")}
              -- Who forgot themselves everywhere keeps no name here until they are seen again.
              WHERE NOT {MemberChoices.ForgottenEverywhere("s.id", "s.seen_at")}
              ORDER BY id, seen_at DESC),
            changed AS (
              SELECT s.* FROM s LEFT JOIN users u ON u.id = s.id
              WHERE u.id IS NULL
                 OR (u.updated_at <= s.seen_at
                     AND (u.first_name, u.last_name, u.username) IS DISTINCT FROM (s.first_name, s.last_name, s.username))),
            history AS (
              INSERT INTO user_name_history (user_id, first_name, last_name, username, seen_at)
              SELECT id, first_name, last_name, username, seen_at FROM changed)
            INSERT INTO users AS u (id, is_bot, first_name, last_name, username, language_code, first_seen_at, updated_at)
            SELECT id, is_bot, first_name, last_name, username, language_code, seen_at, seen_at FROM s
            ON CONFLICT (id) DO UPDATE
              SET first_name = excluded.first_name, last_name = excluded.last_name, username = excluded.username,
                  language_code = coalesce(excluded.language_code, u.language_code), is_bot = excluded.is_bot,
                  updated_at = excluded.updated_at
              WHERE u.updated_at <= excluded.updated_at
                AND (u.first_name, u.last_name, u.username, u.language_code, u.is_bot)
                    IS DISTINCT FROM (excluded.first_name, excluded.last_name, excluded.username,
                                      coalesce(excluded.language_code, u.language_code), excluded.is_bot)
            """;

    private static void AddBotStatuses(NpgsqlBatch batch, List<BotStatusRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        batch.BatchCommands.Add(BotStatusColumns.Command(UpdateBotStatuses, rows));
    }

    private static readonly string UpdateBotStatuses = $"""
            UPDATE chats c SET bot_status = s.status
            FROM (SELECT DISTINCT ON (chat_id) chat_id, status FROM {BotStatusColumns.From("s")} ORDER BY chat_id, at DESC) s
            WHERE c.id = s.chat_id AND c.bot_status IS DISTINCT FROM s.status
            """;

    private const string MovedOnMigration = "moved";

    /// <summary>
    /// What becomes of every table with a chat_id when a group becomes a supergroup. A test compares it with the schema,
    /// so a table added later cannot be forgotten here (as the members' opt-outs, forgets and the day's quota once were:
    /// an opted-out member was counted again after the upgrade).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> ChatTablesOnMigration = new Dictionary<string, string>
    {
        ["messages"] = MovedOnMigration,
        ["chat_user_hourly"] = MovedOnMigration,
        ["service_events"] = MovedOnMigration,
        ["chat_title_history"] = MovedOnMigration,
        ["chat_member_prefs"] = MovedOnMigration,
        ["forgotten_members"] = MovedOnMigration,
        ["chat_daily_usage"] = MovedOnMigration,
        ["chat_summary_state"] = MovedOnMigration,
        ["chat_hourly"] = "follows messages: the rollup triggers move it with them",
        ["chat_user_totals"] = "follows messages: the rollup triggers move it with them",
        ["chat_user_totals_pending"] = "follows messages: the rollup triggers move it with them",
        ["chat_word_daily"] = "follows messages: the word rollup moves it with them",
        ["chat_word_days"] = "follows messages: the word rollup moves it with them",
        ["chat_words"] = "follows messages: the word rollup moves it with them",
        ["chat_words_pending"] = "follows messages: the word rollup moves it with them",
        ["chat_member_word_days"] = "follows messages: the word rollup moves it with them",
        ["chat_member_words"] = "follows messages: the word rollup moves it with them",
        ["report_requests"] = "a report in flight for the old id finishes or fails there; the next /report is asked in the new chat",
        ["dead_letters"] = "kept under the id it came with: a record of what was received",
        ["handled_updates"] = "per update, not per chat: which were answered (two days), and in which chat to keep the order",
    };

    /// <summary>
    /// A group became a supergroup: its history moves under the new id. Basic-group message ids would collide with the
    /// supergroup's own, so moved messages keep their id negated; later updates for the old id are remapped the same way.
    /// The members' choices (opt-outs, forgets) and the day's quota move too: the upgrade must not undo an opt-out or
    /// hand out a second day's reports. See <see cref="ChatTablesOnMigration"/>.
    /// </summary>
    private static void AddMigration(NpgsqlBatch batch, MigrationRow migration)
    {
        string[] statements =
        [
            """
            INSERT INTO chats (id, type, title, is_forum, first_seen_at, updated_at)
            SELECT @new_chat, 'supergroup', title, false, first_seen_at, updated_at FROM chats WHERE id = @old_chat
            ON CONFLICT (id) DO NOTHING
            """,
            """
            UPDATE chats n SET time_zone = o.time_zone, language = o.language, retention_days = o.retention_days,
                   store_text = o.store_text, settings = o.settings, first_seen_at = least(n.first_seen_at, o.first_seen_at)
            FROM chats o WHERE n.id = @new_chat AND o.id = @old_chat AND o.migrated_to_chat_id IS NULL
            """,
            "UPDATE chats SET migrated_to_chat_id = @new_chat WHERE id = @old_chat AND migrated_to_chat_id IS NULL",
            // The later decision wins where a member already chose in the new chat.
            """
            INSERT INTO chat_member_prefs AS p (chat_id, user_id, opted_out, updated_at)
            SELECT @new_chat, user_id, opted_out, updated_at FROM chat_member_prefs WHERE chat_id = @old_chat
            ON CONFLICT (chat_id, user_id) DO UPDATE
              SET opted_out = CASE WHEN excluded.updated_at > p.updated_at THEN excluded.opted_out ELSE p.opted_out END,
                  updated_at = greatest(p.updated_at, excluded.updated_at)
            """,
            "DELETE FROM chat_member_prefs WHERE chat_id = @old_chat",
            """
            INSERT INTO forgotten_members AS f (user_id, chat_id, forgotten_at)
            SELECT user_id, @new_chat, forgotten_at FROM forgotten_members WHERE chat_id = @old_chat
            ON CONFLICT (user_id, chat_id) DO UPDATE SET forgotten_at = greatest(f.forgotten_at, excluded.forgotten_at)
            """,
            "DELETE FROM forgotten_members WHERE chat_id = @old_chat",
            """
            INSERT INTO chat_daily_usage AS u (chat_id, day, used, ai_tokens)
            SELECT @new_chat, day, used, ai_tokens FROM chat_daily_usage WHERE chat_id = @old_chat
            ON CONFLICT (chat_id, day) DO UPDATE SET used = u.used + excluded.used, ai_tokens = u.ai_tokens + excluded.ai_tokens
            """,
            "DELETE FROM chat_daily_usage WHERE chat_id = @old_chat",
            """
            INSERT INTO chat_summary_state AS s (chat_id, last_summary_to)
            SELECT @new_chat, last_summary_to FROM chat_summary_state WHERE chat_id = @old_chat
            ON CONFLICT (chat_id) DO UPDATE SET last_summary_to = greatest(s.last_summary_to, excluded.last_summary_to)
            """,
            "DELETE FROM chat_summary_state WHERE chat_id = @old_chat",
            """
            INSERT INTO messages (chat_id, message_id, sender_user_id, sender_chat_id, sent_at, kind, text, char_count, word_count,
                                  reply_to_message_id, reply_to_user_id, is_forwarded, thread_id, edited_at, counted)
            SELECT @new_chat, -message_id, sender_user_id, sender_chat_id, sent_at, kind, text, char_count, word_count,
                   -reply_to_message_id, reply_to_user_id, is_forwarded, thread_id, edited_at, counted
            FROM messages WHERE chat_id = @old_chat
            ON CONFLICT (chat_id, message_id) DO NOTHING
            """,
            "DELETE FROM messages WHERE chat_id = @old_chat",
            $"""
            INSERT INTO chat_user_hourly AS h (chat_id, hour, user_id, messages, words, chars, {RollupColumns})
            SELECT @new_chat, hour, user_id, messages, words, chars, {RollupColumns} FROM chat_user_hourly WHERE chat_id = @old_chat
            ON CONFLICT (chat_id, hour, user_id) DO UPDATE
              SET messages = h.messages + excluded.messages, words = h.words + excluded.words, chars = h.chars + excluded.chars, {RollupAdds}
            """,
            "DELETE FROM chat_user_hourly WHERE chat_id = @old_chat",
            """
            INSERT INTO service_events (chat_id, message_id, seq, kind, user_id, target_user_id, data, occurred_at)
            SELECT @new_chat, -message_id, seq, kind, user_id, target_user_id, data, occurred_at FROM service_events WHERE chat_id = @old_chat
            ON CONFLICT DO NOTHING
            """,
            "DELETE FROM service_events WHERE chat_id = @old_chat",
            """
            INSERT INTO chat_title_history (chat_id, message_id, title, changed_by_user_id, changed_at)
            SELECT @new_chat, -message_id, title, changed_by_user_id, changed_at FROM chat_title_history WHERE chat_id = @old_chat
            ON CONFLICT (chat_id, message_id) DO NOTHING
            """,
            "DELETE FROM chat_title_history WHERE chat_id = @old_chat",
        ];
        foreach (var sql in statements)
        {
            var cmd = new NpgsqlBatchCommand(sql);
            cmd.Parameters.Add(new NpgsqlParameter<long>("old_chat", migration.FromChatId));
            cmd.Parameters.Add(new NpgsqlParameter<long>("new_chat", migration.ToChatId));
            batch.BatchCommands.Add(cmd);
        }
    }

    private static readonly string RemappedMessages = $"""
        s AS (
          SELECT * FROM {MessageColumns.From("s", ordinality: "ord")}),
        r AS (
          SELECT coalesce(c.migrated_to_chat_id, s.chat_id) AS chat_id,
                 CASE WHEN c.migrated_to_chat_id IS NULL THEN s.message_id ELSE -s.message_id END AS message_id,
                 s.sender_user_id, s.sender_chat_id, s.sent_at, s.kind,
                 CASE WHEN coalesce(CASE WHEN c.migrated_to_chat_id IS NULL THEN c.store_text
                                         ELSE (SELECT t.store_text FROM chats t WHERE t.id = c.migrated_to_chat_id) END, true)
                       AND NOT {MemberChoices.OptedOut("coalesce(c.migrated_to_chat_id, s.chat_id)", "s.sender_user_id")}
                      THEN s.text END AS text, s.char_count, s.word_count,
                 CASE WHEN c.migrated_to_chat_id IS NULL THEN s.reply_to_message_id ELSE -s.reply_to_message_id END AS reply_to_message_id,
                 -- The IN is a hashed look-up that settles nearly every reply; the EXISTS probes only the forgotten.
                 CASE WHEN s.reply_to_user_id IN (SELECT user_id FROM forgotten_members)
                       AND {MemberChoices.Forgotten("s.reply_to_user_id", "coalesce(c.migrated_to_chat_id, s.chat_id)", "s.sent_at")}
                      THEN NULL ELSE s.reply_to_user_id END AS reply_to_user_id,
                 s.is_forwarded, s.thread_id, s.edited_at, s.counted, s.is_edit, s.ord
          FROM s LEFT JOIN chats c ON c.id = s.chat_id
          WHERE NOT {MemberChoices.Forgotten("s.sender_user_id", "coalesce(c.migrated_to_chat_id, s.chat_id)", "s.sent_at")})
        """;

    private static void AddMessages(NpgsqlBatch batch, List<MessageRow> rows, bool fresh)
    {
        if (rows.Count == 0)
        {
            return;
        }
        // New messages first, then edits of messages never seen (which insert as their edited form). A fresh batch
        // (see WriteBulkAsync) inserts without the arbiters: a key already there fails the batch instead.
        batch.BatchCommands.Add(MessageColumns.Command(fresh ? FreshMessages : MergedMessages, rows));
    }

    private static readonly string MergedMessages = Messages(fresh: false);
    private static readonly string FreshMessages = Messages(fresh: true);

    private static string Messages(bool fresh) => $"""
            WITH {RemappedMessages},
            ins AS (
              INSERT INTO messages (chat_id, message_id, sender_user_id, sender_chat_id, sent_at, kind, text, char_count, word_count,
                                    reply_to_message_id, reply_to_user_id, is_forwarded, thread_id, edited_at, counted)
              SELECT chat_id, message_id, sender_user_id, sender_chat_id, sent_at, kind, text, char_count, word_count,
                     reply_to_message_id, reply_to_user_id, is_forwarded, thread_id, edited_at, counted
              FROM r ORDER BY is_edit, ord
              {(fresh ? "" : "ON CONFLICT (chat_id, message_id) DO NOTHING")}
              RETURNING chat_id, sender_user_id, sent_at, kind, word_count, char_count, counted)
            INSERT INTO chat_user_hourly AS h (chat_id, hour, user_id, messages, words, chars, {RollupColumns})
            SELECT chat_id, date_trunc('hour', sent_at, 'UTC'), sender_user_id, count(*), sum(word_count), sum(char_count),
                   {RollupFilters}
            FROM ins WHERE counted AND sender_user_id IS NOT NULL
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3 -- one lock order for every writer: concurrent batches wait, never deadlock
            {(fresh ? "" : $"""
              ON CONFLICT (chat_id, hour, user_id) DO UPDATE
                SET messages = h.messages + excluded.messages, words = h.words + excluded.words, chars = h.chars + excluded.chars, {RollupAdds}
              """)}
            """;

    private static void AddEdits(NpgsqlBatch batch, List<MessageRow> rows)
    {
        var edits = rows.Where(r => r.IsEdit).ToList();
        if (edits.Count == 0)
        {
            return;
        }
        // Only a newer edit applies, so replays are no-ops; the rollup moves by the difference the edit made.
        batch.BatchCommands.Add(MessageColumns.Command(ApplyEdits, edits));
    }

    private static readonly string ApplyEdits = $"""
            WITH {RemappedMessages},
            e AS (
              SELECT DISTINCT ON (chat_id, message_id) chat_id, message_id, text, char_count, word_count, edited_at
              FROM r ORDER BY chat_id, message_id, edited_at DESC),
            upd AS (
              UPDATE messages m
                 SET text = e.text, char_count = e.char_count, word_count = e.word_count, edited_at = e.edited_at
              FROM e, messages o
              WHERE m.chat_id = e.chat_id AND m.message_id = e.message_id
                AND o.chat_id = m.chat_id AND o.message_id = m.message_id
                AND (m.edited_at IS NULL OR m.edited_at < e.edited_at)
              RETURNING m.chat_id, m.sender_user_id, m.sent_at, m.counted,
                        m.word_count - o.word_count AS dw, m.char_count - o.char_count AS dc),
            d AS (
              SELECT chat_id, date_trunc('hour', sent_at, 'UTC') AS hour, sender_user_id AS user_id, sum(dw) AS dw, sum(dc) AS dc
              FROM upd WHERE counted AND sender_user_id IS NOT NULL
              GROUP BY 1, 2, 3)
            UPDATE chat_user_hourly h SET words = h.words + d.dw, chars = h.chars + d.dc
            FROM d
            WHERE h.chat_id = d.chat_id AND h.hour = d.hour AND h.user_id = d.user_id AND (d.dw <> 0 OR d.dc <> 0)
            """;

    private static void AddEvents(NpgsqlBatch batch, List<EventRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        batch.BatchCommands.Add(EventColumns.Command(InsertEvents, rows));
    }

    private static readonly string InsertEvents = $"""
            WITH s AS (SELECT * FROM {EventColumns.From("s")}),
            r AS (
              SELECT coalesce(c.migrated_to_chat_id, s.chat_id) AS chat_id,
                     CASE WHEN c.migrated_to_chat_id IS NULL THEN s.message_id ELSE -s.message_id END AS message_id,
                     s.seq, s.kind, s.user_id, s.target_user_id, s.data, s.occurred_at
              FROM s LEFT JOIN chats c ON c.id = s.chat_id
              WHERE NOT {MemberChoices.Forgotten("s.user_id", "coalesce(c.migrated_to_chat_id, s.chat_id)", "s.occurred_at")}
                AND NOT {MemberChoices.Forgotten("s.target_user_id", "coalesce(c.migrated_to_chat_id, s.chat_id)", "s.occurred_at")}),
            ins AS (
              INSERT INTO service_events (chat_id, message_id, seq, kind, user_id, target_user_id, data, occurred_at)
              SELECT chat_id, message_id, seq, kind, user_id, target_user_id, data, occurred_at FROM r
              ON CONFLICT DO NOTHING
              RETURNING chat_id, message_id, kind, user_id, data, occurred_at)
            INSERT INTO chat_title_history (chat_id, message_id, title, changed_by_user_id, changed_at)
            SELECT chat_id, message_id, data, user_id, occurred_at FROM ins
            WHERE kind = {(short)ServiceEventKind.TitleChanged} AND data IS NOT NULL
            ON CONFLICT (chat_id, message_id) DO NOTHING
            """;

    private static void AddDeadLetters(NpgsqlBatch batch, IReadOnlyList<DeadLetterRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        batch.BatchCommands.Add(DeadLetterColumns.Command(InsertDeadLetters, rows));
    }

    private static readonly string InsertDeadLetters = $"""
            INSERT INTO dead_letters (update_id, chat_id, payload, error, failed_at)
            SELECT update_id, chat_id, payload, error, failed_at FROM {DeadLetterColumns.From("s")}
            ON CONFLICT (update_id) DO NOTHING
            """;
}
