using ChatStats.Bot.Data;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Stats;

internal sealed record Forgotten(long Messages, int Chats);

/// <summary>
/// What members and admins decide about stored data: opting out (no text, no leaderboards), forgetting (delete a
/// member's messages and rollup rows together, so the rollups stay equal to a recount), switching text storage off, and
/// the retention purge. Each change keeps the rollups equal to a recount at every commit; a choice that removes stored
/// data is applied a second time under the ingest lock, for the chunks that were in flight when it was saved.
/// </summary>
internal sealed class Privacy(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>Deleting or blanking a big chat's rows may take minutes; Npgsql's default gives a statement 30 s.</summary>
    private static readonly int LongCommand = (int)TimeSpan.FromMinutes(5).TotalSeconds;

    static Privacy() => SqlMapping.Apply();

    public async Task SetOptOutAsync(long chatId, long userId, bool optedOut, CancellationToken ct)
    {
        var member = new { chat = chatId, user = userId, optedOut, at = time.GetUtcNow() };
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using (var tx = await connection.BeginTransactionAsync(ct))
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO chat_member_prefs (chat_id, user_id, opted_out, updated_at) VALUES (@chat, @user, @optedOut, @at)
                ON CONFLICT (chat_id, user_id) DO UPDATE SET opted_out = excluded.opted_out, updated_at = excluded.updated_at
                """, member, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
        }
        if (optedOut)
        {
            // Text already stored goes too: opting out is not only about the future.
            await ThenUnderTheIngestLockAsync(connection, tx => connection.ExecuteAsync(new CommandDefinition(
                "UPDATE messages SET text = NULL WHERE chat_id = @chat AND sender_user_id = @user AND text IS NOT NULL", member, tx, LongCommand, cancellationToken: ct)), ct);
        }
    }

    /// <summary>Deletes a member's data in one chat, or (<paramref name="chatId"/> null) in every chat with their names.</summary>
    public async Task<Forgotten> ForgetAsync(long userId, long? chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var member = new { user = userId, chat = chatId ?? ForgottenMember.EveryChat };
        var where = chatId is null ? "" : " AND chat_id = @chat";
        var chats = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(DISTINCT chat_id) FROM chat_user_hourly WHERE user_id = @user{where}", member, commandTimeout: LongCommand, cancellationToken: ct));
        long messages = 0;
        await ThenUnderTheIngestLockAsync(connection, async tx =>
        {
            Task<long> RunAsync(string sql) =>
                connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, member, tx, LongCommand, cancellationToken: ct));
            messages += await RunAsync($"WITH d AS (DELETE FROM messages WHERE sender_user_id = @user{where} RETURNING 1) SELECT count(*) FROM d");
            await RunAsync($"DELETE FROM chat_user_hourly WHERE user_id = @user{where}");
            await RunAsync($"DELETE FROM service_events WHERE (user_id = @user OR target_user_id = @user){where}");
            // Others' replies stay theirs, but no longer point at the forgotten member.
            await RunAsync($"UPDATE messages SET reply_to_user_id = NULL WHERE reply_to_user_id = @user{where}");
            await RunAsync($"UPDATE chat_title_history SET changed_by_user_id = NULL WHERE changed_by_user_id = @user{where}");
            await RunAsync($"DELETE FROM chat_member_prefs WHERE user_id = @user{where}");
            if (chatId is null)
            {
                await RunAsync("DELETE FROM user_name_history WHERE user_id = @user");
                await RunAsync("DELETE FROM users WHERE id = @user");
            }
            // Remembered, so an import of an older export (or a late edit of an old message) brings none of it back.
            await RunAsync("""
                INSERT INTO forgotten_members (user_id, chat_id, forgotten_at) VALUES (@user, @chat, now())
                ON CONFLICT (user_id, chat_id) DO UPDATE SET forgotten_at = excluded.forgotten_at
                """);
        }, ct);
        return new Forgotten(messages, (int)chats);
    }

    /// <summary>store_text off (saved before this is called): stored text of the chat is deleted as well, and no more is kept.</summary>
    public async Task DropTextAsync(long chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await ThenUnderTheIngestLockAsync(connection, tx => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE messages SET text = NULL WHERE chat_id = @chat AND text IS NOT NULL", new { chat = chatId }, tx, LongCommand, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// Applies a member's or a chat's choice to the stored rows twice, each time in one transaction: first as it is, so
    /// a big change (minutes, in a big chat) holds up nobody; then under <see cref="MemberChoices.LockIngestExclusive"/>,
    /// which waits for the ingest chunks that were in flight when the choice was saved — they read it too early, and the
    /// first pass could not see their rows — and changes what they wrote. That pass finds only those few rows, so new
    /// chunks wait for it briefly. The choice is saved before the first pass ends (before it, or in it).
    /// </summary>
    private static async Task ThenUnderTheIngestLockAsync(NpgsqlConnection connection, Func<NpgsqlTransaction, Task> change, CancellationToken ct)
    {
        foreach (var locked in new[] { false, true })
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            if (locked)
            {
                // The chunks in flight finish within seconds; an import's batch may take longer, and giving up here would
                // leave their rows as they are, so the wait gets the same time as the change.
                await connection.ExecuteAsync(new CommandDefinition(MemberChoices.LockIngestExclusive, transaction: tx, commandTimeout: LongCommand, cancellationToken: ct));
            }
            await change(tx);
            await tx.CommitAsync(ct);
        }
    }

    private sealed record Retention(long Id, int RetentionDays);

    /// <summary>
    /// Deletes what is older than each chat's retention: messages and the rollup hours before the same hour-aligned
    /// cut-off, so statistics and a recount from messages keep agreeing. Returns the messages deleted.
    /// </summary>
    public async Task<long> PurgeExpiredAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var chats = await connection.QueryAsync<Retention>(new CommandDefinition(
            "SELECT id, retention_days FROM chats WHERE retention_days IS NOT NULL", cancellationToken: ct));
        long deleted = 0;
        foreach (var chat in chats.AsList())
        {
            var cutoff = time.GetUtcNow() - TimeSpan.FromDays(chat.RetentionDays);
            var expired = new { chat = chat.Id, cutoff = new DateTimeOffset(cutoff.Year, cutoff.Month, cutoff.Day, cutoff.Hour, 0, 0, TimeSpan.Zero) };
            await using var tx = await connection.BeginTransactionAsync(ct);
            foreach (var sql in new[]
            {
                "WITH d AS (DELETE FROM messages WHERE chat_id = @chat AND sent_at < @cutoff RETURNING 1) SELECT count(*) FROM d",
                "DELETE FROM chat_user_hourly WHERE chat_id = @chat AND hour < @cutoff",
                "DELETE FROM service_events WHERE chat_id = @chat AND occurred_at < @cutoff",
            })
            {
                deleted += await connection.ExecuteScalarAsync<long?>(new CommandDefinition(sql, expired, tx, LongCommand, cancellationToken: ct)) ?? 0;
            }
            await tx.CommitAsync(ct);
        }
        return deleted;
    }
}
