using Npgsql;

namespace ChatStats.Bot.Stats;

internal sealed record Forgotten(long Messages, int Chats);

/// <summary>
/// What members and admins decide about stored data: opting out (no text, no leaderboards), forgetting (delete a
/// member's messages and rollup rows together, so the rollups stay equal to a recount), switching text storage off, and
/// the retention purge. Each is one transaction.
/// </summary>
internal sealed class Privacy(NpgsqlDataSource dataSource, TimeProvider time)
{
    private static readonly TimeSpan LongCommand = TimeSpan.FromMinutes(5);

    public async Task SetOptOutAsync(long chatId, long userId, bool optedOut, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand("""
            INSERT INTO chat_member_prefs (chat_id, user_id, opted_out, updated_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (chat_id, user_id) DO UPDATE SET opted_out = excluded.opted_out, updated_at = excluded.updated_at
            """, connection, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
            cmd.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = optedOut });
            cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
            await cmd.ExecuteNonQueryAsync(ct);
        }
        if (optedOut)
        {
            // Text already stored goes too: opting out is not only about the future.
            await using var cmd = new NpgsqlCommand("UPDATE messages SET text = NULL WHERE chat_id = $1 AND sender_user_id = $2 AND text IS NOT NULL", connection, tx)
            {
                CommandTimeout = (int)LongCommand.TotalSeconds,
            };
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
    }

    /// <summary>Deletes a member's data in one chat, or (<paramref name="chatId"/> null) in every chat with their names.</summary>
    public async Task<Forgotten> ForgetAsync(long userId, long? chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var where = chatId is null ? "" : " AND chat_id = $2";
        async Task<long> RunAsync(string sql)
        {
            await using var cmd = new NpgsqlCommand(sql, connection, tx) { CommandTimeout = (int)LongCommand.TotalSeconds };
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
            if (chatId is { } id)
            {
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
            }
            return await cmd.ExecuteScalarAsync(ct) is long n ? n : 0;
        }
        var chats = await RunAsync($"SELECT count(DISTINCT chat_id) FROM chat_user_hourly WHERE user_id = $1{where}");
        var messages = await RunAsync($"WITH d AS (DELETE FROM messages WHERE sender_user_id = $1{where} RETURNING 1) SELECT count(*) FROM d");
        await RunAsync($"DELETE FROM chat_user_hourly WHERE user_id = $1{where}");
        await RunAsync($"DELETE FROM service_events WHERE (user_id = $1 OR target_user_id = $1){where}");
        // Others' replies stay theirs, but no longer point at the forgotten member.
        await RunAsync($"UPDATE messages SET reply_to_user_id = NULL WHERE reply_to_user_id = $1{where}");
        await RunAsync($"UPDATE chat_title_history SET changed_by_user_id = NULL WHERE changed_by_user_id = $1{where}");
        await RunAsync($"DELETE FROM chat_member_prefs WHERE user_id = $1{where}");
        if (chatId is null)
        {
            await RunAsync("DELETE FROM user_name_history WHERE user_id = $1");
            await RunAsync("DELETE FROM users WHERE id = $1");
        }
        // Remembered, so an import of an older export (or a late edit of an old message) brings none of it back.
        await using (var remember = new NpgsqlCommand("""
            INSERT INTO forgotten_members (user_id, chat_id, forgotten_at) VALUES ($1, $2, now())
            ON CONFLICT (user_id, chat_id) DO UPDATE SET forgotten_at = excluded.forgotten_at
            """, connection, tx))
        {
            remember.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
            remember.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId ?? Data.ForgottenMember.EveryChat });
            await remember.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return new Forgotten(messages, (int)chats);
    }

    /// <summary>store_text off: stored text of the chat is deleted as well, and no more is kept.</summary>
    public async Task DropTextAsync(long chatId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("UPDATE messages SET text = NULL WHERE chat_id = $1 AND text IS NOT NULL");
        cmd.CommandTimeout = (int)LongCommand.TotalSeconds;
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Deletes what is older than each chat's retention: messages and the rollup hours before the same hour-aligned
    /// cut-off, so statistics and a recount from messages keep agreeing. Returns the messages deleted.
    /// </summary>
    public async Task<long> PurgeExpiredAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var chats = new List<(long Id, int Days)>();
        await using (var list = new NpgsqlCommand("SELECT id, retention_days FROM chats WHERE retention_days IS NOT NULL", connection))
        await using (var reader = await list.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                chats.Add((reader.GetInt64(0), reader.GetInt32(1)));
            }
        }
        long deleted = 0;
        foreach (var (id, days) in chats)
        {
            var cutoff = time.GetUtcNow() - TimeSpan.FromDays(days);
            cutoff = new DateTimeOffset(cutoff.Year, cutoff.Month, cutoff.Day, cutoff.Hour, 0, 0, TimeSpan.Zero);
            await using var tx = await connection.BeginTransactionAsync(ct);
            foreach (var sql in new[]
            {
                "WITH d AS (DELETE FROM messages WHERE chat_id = $1 AND sent_at < $2 RETURNING 1) SELECT count(*) FROM d",
                "DELETE FROM chat_user_hourly WHERE chat_id = $1 AND hour < $2",
                "DELETE FROM service_events WHERE chat_id = $1 AND occurred_at < $2",
            })
            {
                await using var cmd = new NpgsqlCommand(sql, connection, tx) { CommandTimeout = (int)LongCommand.TotalSeconds };
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
                cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = cutoff });
                deleted += await cmd.ExecuteScalarAsync(ct) is long n ? n : 0;
            }
            await tx.CommitAsync(ct);
        }
        return deleted;
    }
}
