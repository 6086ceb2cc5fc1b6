namespace ChatStats.Bot.Data;

/// <summary>
/// Statement-level triggers on chat_user_hourly that carry every change — ingest, edits, /forgetme, retention,
/// migrations, imports — into chat_hourly and chat_user_totals in the same transaction, from the transition tables:
/// one grouped upsert per statement, so the coarse rollups can never drift from the fine one.
/// <para>
/// A bulk writer (an import) sets <c>chatstats.defer_totals</c> in its transactions: its inserts then append their member
/// totals to <c>chat_user_totals_pending</c>, a heap without indexes, instead of updating the chat's members' totals
/// row by row in every batch (with thousands of members, each batch would update nearly all of them, and concurrent
/// batches would queue on their row locks). <see cref="FoldPendingAsync"/> adds the pending rows to the totals; it is
/// additive, so anyone may run it at any time: the import when it is done, and a recurring job for whatever a crashed
/// import left behind.
/// </para>
/// </summary>
internal static class RollupTriggers
{
    private static readonly IReadOnlyList<string> KindColumns = MessageKinds.Columns;

    private static readonly string Media = MessageKinds.MediaSum;

    private const string Defer = "current_setting('chatstats.defer_totals', true) = 'on'";

    /// <summary>The setting a bulk writer's transaction starts with.</summary>
    public const string DeferTotals = "SET LOCAL chatstats.defer_totals = on";

    public const string CreatePending = """
        CREATE TABLE IF NOT EXISTS chat_user_totals_pending (
          chat_id bigint NOT NULL, user_id bigint NOT NULL, messages bigint NOT NULL, words bigint NOT NULL, chars bigint NOT NULL, media bigint NOT NULL);
        """;

    /// <summary>Moves every pending member total into chat_user_totals, in key order (so it waits on live writers, never deadlocks).</summary>
    internal const string FoldPending = """
        WITH moved AS (DELETE FROM chat_user_totals_pending RETURNING *)
        INSERT INTO chat_user_totals AS t (chat_id, user_id, messages, words, chars, media)
        SELECT chat_id, user_id, sum(messages), sum(words), sum(chars), sum(media) FROM moved GROUP BY chat_id, user_id ORDER BY chat_id, user_id
        ON CONFLICT (chat_id, user_id) DO UPDATE
          SET messages = t.messages + excluded.messages, words = t.words + excluded.words, chars = t.chars + excluded.chars, media = t.media + excluded.media
        """;

    /// <summary>Adds the member totals bulk writes left pending to chat_user_totals (all of them: it is additive, so any time will do).</summary>
    public static async Task<long> FoldPendingAsync(Npgsql.NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(FoldPending);
        cmd.CommandTimeout = 0;
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Applies <paramref name="delta"/> (a query over the transition tables with a sign column) to both coarse rollups.</summary>
    private static string Apply(string delta, bool deferrable = false)
    {
        var kindSums = string.Join(", ", KindColumns.Select(c => $"sum(sign * {c})"));
        var kindCols = string.Join(", ", KindColumns);
        var kindAdds = string.Join(", ", KindColumns.Select(c => $"{c} = t.{c} + excluded.{c}"));
        var hourly = $"""
            WITH d AS ({delta}),
            hourly AS (
              INSERT INTO chat_hourly AS t (chat_id, hour, messages, words, chars, {kindCols})
              SELECT chat_id, hour, sum(sign * messages), sum(sign * words), sum(sign * chars), {kindSums} FROM d GROUP BY chat_id, hour ORDER BY chat_id, hour
              ON CONFLICT (chat_id, hour) DO UPDATE
                SET messages = t.messages + excluded.messages, words = t.words + excluded.words, chars = t.chars + excluded.chars, {kindAdds})
            """;
        var totals = $"SELECT chat_id, user_id, sum(sign * messages), sum(sign * words), sum(sign * chars), sum(sign * ({Media})) FROM d GROUP BY chat_id, user_id";
        var now = $"""
            {hourly}
            INSERT INTO chat_user_totals AS t (chat_id, user_id, messages, words, chars, media)
            {totals} ORDER BY chat_id, user_id
            ON CONFLICT (chat_id, user_id) DO UPDATE
              SET messages = t.messages + excluded.messages, words = t.words + excluded.words, chars = t.chars + excluded.chars, media = t.media + excluded.media;
            """;
        return deferrable
            ? $"""
              IF {Defer} THEN
                {hourly}
                INSERT INTO chat_user_totals_pending (chat_id, user_id, messages, words, chars, media)
                {totals};
              ELSE
                {now}
              END IF;
              """
            : now;
    }

    public static string Create => $"""
        {Functions("CREATE")}
        {TriggersAndBackfill}
        """;

    /// <summary>The function bodies again, for a migration that changes them.</summary>
    public static string Replace => Functions("CREATE OR REPLACE");

    private static readonly StatementTriggers Triggers = new("chat_user_hourly", "rollup", "chat_user_hourly");

    private static string Functions(string create) => Triggers.Functions(create,
        inserted: Apply("SELECT 1 AS sign, * FROM new_rows", deferrable: true),
        updated: Apply("SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows"),
        deleted: $"""
            {Apply("SELECT -1 AS sign, * FROM old_rows")}
            -- A member with nothing left is no member of the totals.
            DELETE FROM chat_user_totals t USING (SELECT DISTINCT chat_id, user_id FROM old_rows) g
            WHERE t.chat_id = g.chat_id AND t.user_id = g.user_id AND t.messages = 0 AND t.words = 0 AND t.chars = 0 AND t.media = 0;
            """);

    /// <summary>The triggers, and the coarse rollups filled from what is already recorded.</summary>
    private static string TriggersAndBackfill => $"""
        {Triggers.Create}

        -- What is already recorded.
        INSERT INTO chat_hourly (chat_id, hour, messages, words, chars, {string.Join(", ", KindColumns)})
        SELECT chat_id, hour, sum(messages), sum(words), sum(chars), {string.Join(", ", KindColumns.Select(c => $"sum({c})"))}
        FROM chat_user_hourly GROUP BY chat_id, hour;
        INSERT INTO chat_user_totals (chat_id, user_id, messages, words, chars, media)
        SELECT chat_id, user_id, sum(messages), sum(words), sum(chars), sum({Media}) FROM chat_user_hourly GROUP BY chat_id, user_id;
        """;

    public static string Drop => Triggers.Drop;
}
