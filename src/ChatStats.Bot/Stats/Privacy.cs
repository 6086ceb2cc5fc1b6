using ChatStats.Bot.Data;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Stats;

internal sealed record Forgotten(long Messages, int Chats);

/// <summary>
/// What members and admins decide about stored data: opting out (no text, no leaderboards), forgetting (delete a
/// member's messages and rollup rows together, so the rollups stay equal to a recount), switching text storage off, and
/// the retention purge. Each change keeps the rollups equal to a recount at every commit; a choice that removes stored
/// data is saved first, then waits for the ingest chunks in flight, then changes the stored rows in one transaction.
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
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO chat_member_prefs (chat_id, user_id, opted_out, updated_at) VALUES (@chat, @user, @optedOut, @at)
            ON CONFLICT (chat_id, user_id) DO UPDATE SET opted_out = excluded.opted_out, updated_at = excluded.updated_at
            """, member, cancellationToken: ct));
        if (optedOut)
        {
            // Text already stored goes too: opting out is not only about the future.
            await WaitForIngestInFlightAsync(connection, ct);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE messages SET text = NULL WHERE chat_id = @chat AND sender_user_id = @user AND text IS NOT NULL", member, commandTimeout: LongCommand, cancellationToken: ct));
        }
    }

    /// <summary>Deletes a member's data in one chat, or (<paramref name="chatId"/> null) in every chat with their names.</summary>
    public async Task<Forgotten> ForgetAsync(long userId, long? chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var member = new { user = userId, chat = chatId ?? ForgottenMember.EveryChat };
        // Remembered first, so ingest stores nothing more of it, and an import of an older export (or a late edit of an
        // old message) brings none of it back.
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO forgotten_members (user_id, chat_id, forgotten_at) VALUES (@user, @chat, now())
            ON CONFLICT (user_id, chat_id) DO UPDATE SET forgotten_at = excluded.forgotten_at
            """, member, cancellationToken: ct));
        await WaitForIngestInFlightAsync(connection, ct);

        await using var tx = await connection.BeginTransactionAsync(ct);
        var where = chatId is null ? "" : " AND chat_id = @chat";
        Task<long> RunAsync(string sql) =>
            connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, member, tx, LongCommand, cancellationToken: ct));
        var chats = await RunAsync($"SELECT count(DISTINCT chat_id) FROM chat_user_hourly WHERE user_id = @user{where}");
        var messages = await RunAsync($"WITH d AS (DELETE FROM messages WHERE sender_user_id = @user{where} RETURNING 1) SELECT count(*) FROM d");
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
        await tx.CommitAsync(ct);
        return new Forgotten(messages, (int)chats);
    }

    /// <summary>store_text off (saved before this is called): stored text of the chat is deleted as well, and no more is kept.</summary>
    public async Task DropTextAsync(long chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await WaitForIngestInFlightAsync(connection, ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE messages SET text = NULL WHERE chat_id = @chat AND text IS NOT NULL", new { chat = chatId }, commandTimeout: LongCommand, cancellationToken: ct));
    }

    /// <summary>
    /// Between saving a choice and changing the stored rows: waits for the ingest chunks in flight, which may have read
    /// the choice before it was saved (<see cref="MemberChoices.LockIngestShared"/>). Their rows are then committed, so the
    /// one change that follows reaches them; chunks after this read the saved choice. The lock is let go at once: ingest
    /// waits only for the chunks ahead of it, never for the change.
    /// </summary>
    private static async Task WaitForIngestInFlightAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Chunks finish within seconds; an import's batch may take longer, and giving up would leave its rows as they are.
        await connection.ExecuteAsync(new CommandDefinition(MemberChoices.WaitForIngestInFlight, transaction: tx, commandTimeout: LongCommand, cancellationToken: ct));
        await tx.CommitAsync(ct);
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
