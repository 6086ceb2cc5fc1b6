using System.Text.Json;
using System.Text.Json.Nodes;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Stats;
using Telegram.Bot;
using Telegram.Bot.Types;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Ingest;

public sealed class IngestWriterTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    private static readonly FakeUser Ann = new(1001, "Ann", "Lee", "ann");
    private static readonly FakeUser Bob = new(1002, "Bob");
    private static readonly FakeUser OtherBot = new(1003, "Helper", Username: "helper_bot", IsBot: true);
    private const long T = UpdateFactory.BaseDate;
    private static long _nextUpdateId = 1;

    private IngestWriter Writer => new(db.DataSource);

    private Task IngestAsync(params string[] updates) => Writer.WriteAsync(Batch(updates), CancellationToken.None);

    private static IngestBatch Batch(params string[] updates)
    {
        var batch = new IngestBatch();
        foreach (var json in updates)
        {
            var node = JsonNode.Parse(json)!.AsObject();
            node["update_id"] = Interlocked.Increment(ref _nextUpdateId);
            UpdateMapper.Map(JsonSerializer.Deserialize<Update>(node.ToJsonString(), JsonBotAPI.Options)!, batch, storeText: true);
        }
        return batch;
    }

    private Task<long> Count(string sql, params object[] args) => db.ScalarAsync<long>(sql, args);

    /// <summary>Everything ingest writes, as one string, to compare before and after a replay.</summary>
    private async Task<string> SnapshotAsync(long chatId)
    {
        var parts = new List<string>();
        foreach (var sql in new[]
        {
            $"SELECT coalesce(string_agg(concat_ws('|', message_id, sender_user_id, kind, text, word_count, char_count, edited_at, counted), ';' ORDER BY message_id), '') FROM messages WHERE chat_id = {chatId}",
            $"SELECT coalesce(string_agg(concat_ws('|', hour, user_id, messages, words, chars, text_count, photo_count), ';' ORDER BY hour, user_id), '') FROM chat_user_hourly WHERE chat_id = {chatId}",
            $"SELECT coalesce(string_agg(concat_ws('|', message_id, seq, kind, target_user_id, data), ';' ORDER BY message_id, seq), '') FROM service_events WHERE chat_id = {chatId}",
            $"SELECT coalesce(string_agg(concat_ws('|', message_id, title), ';' ORDER BY message_id), '') FROM chat_title_history WHERE chat_id = {chatId}",
            "SELECT count(*)::text FROM user_name_history",
            "SELECT coalesce(string_agg(concat_ws('|', id, first_name, username), ';' ORDER BY id), '') FROM users",
        })
        {
            parts.Add(await db.ScalarAsync<string>(sql));
        }
        return string.Join("\n", parts);
    }

    /// <summary>The fine rollup equals a recount of the messages, and the coarse ones (kept by triggers) equal the fine one.</summary>
    private Task AssertRollupMatchesRecountAsync() => RollupInvariant.AssertMatchesMessagesAsync(db);

    [Fact]
    public async Task ReplayingABatchChangesNothing()
    {
        var chat = new FakeChat(-100_001, "Replay");
        string[] batch =
        [
            UpdateFactory.Message(chat, 1, Ann, T, "one two three"),
            UpdateFactory.Message(chat, 2, Bob, T + 10, "photo caption", FakeKind.Photo),
            UpdateFactory.Edited(chat, 1, Ann, T, T + 20, "one two"),
            UpdateFactory.Joined(chat, 3, Ann, T + 30, Bob),
            UpdateFactory.TitleChanged(chat, 4, Ann, T + 40, "Replay 2"),
        ];

        await IngestAsync(batch);
        var first = await SnapshotAsync(chat.Id);
        await IngestAsync(batch);
        await IngestAsync(batch[2], batch[0]);

        Assert.Equal(first, await SnapshotAsync(chat.Id));
        Assert.Equal(2, await Count("SELECT count(*) FROM messages WHERE chat_id = $1", chat.Id));
        await AssertRollupMatchesRecountAsync();
    }

    [Fact]
    public async Task AnEditReplacesTheTextAndMovesTheRollupByTheDifference()
    {
        var chat = new FakeChat(-100_002, "Edits");
        await IngestAsync(UpdateFactory.Message(chat, 1, Ann, T, "a b c d"));
        await IngestAsync(UpdateFactory.Edited(chat, 1, Ann, T, T + 60, "a b"));
        await IngestAsync(UpdateFactory.Edited(chat, 1, Ann, T, T + 30, "an older edit arriving late"));

        Assert.Equal("a b", await db.ScalarAsync<string>("SELECT text FROM messages WHERE chat_id = $1 AND message_id = 1", chat.Id));
        Assert.Equal(2, await Count("SELECT words FROM chat_user_hourly WHERE chat_id = $1", chat.Id));
        Assert.Equal(1, await Count("SELECT messages FROM chat_user_hourly WHERE chat_id = $1", chat.Id));
        await AssertRollupMatchesRecountAsync();
    }

    [Fact]
    public async Task AnEditOfAMessageNeverSeenRecordsItOnce()
    {
        var chat = new FakeChat(-100_003, "Late");
        await IngestAsync(UpdateFactory.Edited(chat, 9, Ann, T, T + 60, "edited first"));
        await IngestAsync(UpdateFactory.Message(chat, 9, Ann, T, "original arrives after"));

        Assert.Equal("edited first", await db.ScalarAsync<string>("SELECT text FROM messages WHERE chat_id = $1", chat.Id));
        Assert.Equal(1, await Count("SELECT sum(messages) FROM chat_user_hourly WHERE chat_id = $1", chat.Id));
        await AssertRollupMatchesRecountAsync();
    }

    [Fact]
    public async Task ServiceMessagesBecomeEventsAndTitleHistory()
    {
        var chat = new FakeChat(-100_004, "Before");
        var carl = new FakeUser(1004, "Carl");
        await IngestAsync(
            UpdateFactory.Message(chat, 1, Ann, T, "hi"),
            UpdateFactory.Joined(chat, 2, Ann, T + 1, Bob, carl),
            UpdateFactory.Left(chat, 3, Bob, T + 2, Bob),
            UpdateFactory.TitleChanged(chat, 4, Ann, T + 3, "After"));

        Assert.Equal(4, await Count("SELECT count(*) FROM service_events WHERE chat_id = $1", chat.Id));
        Assert.Equal(2, await Count("SELECT count(*) FROM service_events WHERE chat_id = $1 AND kind = 1", chat.Id));
        Assert.Equal("Before;After", await db.ScalarAsync<string>("SELECT string_agg(title, ';' ORDER BY message_id) FROM chat_title_history WHERE chat_id = $1", chat.Id));
        Assert.Equal("After", await db.ScalarAsync<string>("SELECT title FROM chats WHERE id = $1", chat.Id));
        Assert.Equal(1, await Count("SELECT count(*) FROM messages WHERE chat_id = $1", chat.Id));
    }

    [Fact]
    public async Task ChannelPostsOtherBotsAndPostsAsAChannelAreStoredButNotCounted()
    {
        var chat = new FakeChat(-100_005, "Counting");
        var channel = new FakeChat(-100_999, "News", "channel");
        await IngestAsync(
            UpdateFactory.Message(chat, 1, Ann, T, "member"),
            UpdateFactory.Message(chat, 2, OtherBot, T, "beep"),
            UpdateFactory.Message(chat, 3, new FakeUser(136817688, "Channel", Username: "Channel_Bot", IsBot: true), T, "as channel", senderChat: channel),
            UpdateFactory.Message(channel, 50, null, T, "channel post", field: "channel_post"));

        Assert.Equal(3, await Count("SELECT count(*) FROM messages WHERE chat_id = $1", chat.Id));
        Assert.Equal(1, await Count("SELECT sum(messages) FROM chat_user_hourly WHERE chat_id = $1", chat.Id));
        Assert.Equal(0, await Count("SELECT count(*) FROM messages WHERE chat_id = $1", channel.Id));
        Assert.Equal(1, await Count("SELECT count(*) FROM chats WHERE id = $1 AND type = 'channel'", channel.Id));
    }

    [Fact]
    public async Task AGroupBecomingASupergroupMovesItsHistory()
    {
        var group = new FakeChat(-4_001, "Small", "group");
        var super = new FakeChat(-100_4001, "Small", "supergroup");
        await IngestAsync(
            UpdateFactory.Message(group, 1, Ann, T, "old one"),
            UpdateFactory.Message(group, 2, Bob, T + 3600, "old two", replyTo: 1, replyToFrom: Ann),
            UpdateFactory.TitleChanged(group, 3, Ann, T + 7200, "Small"));
        // Ann opted out in the old group, Bob had it forget him, and the group used two reports today.
        await db.ExecuteAsync("INSERT INTO chat_member_prefs (chat_id, user_id, opted_out, updated_at) VALUES ($1, $2, true, now())", group.Id, Ann.Id);
        // (a day before this history: what Bob wrote since stays)
        await db.ExecuteAsync("INSERT INTO forgotten_members (user_id, chat_id, forgotten_at) VALUES ($1, $2, to_timestamp($3))", Bob.Id, group.Id, (double)(T - 86_400));
        await db.ExecuteAsync("INSERT INTO chat_daily_usage (chat_id, day, used, ai_tokens) VALUES ($1, current_date, 2, 500)", group.Id);
        await IngestAsync(
            UpdateFactory.Service(group, 4, Ann, T + 9000, "migrate_to_chat_id", JsonValue.Create(super.Id)),
            UpdateFactory.Service(super, 1, Ann, T + 9000, "migrate_from_chat_id", JsonValue.Create(group.Id)),
            UpdateFactory.Message(super, 2, Ann, T + 9100, "new one"));
        // Telegram can still deliver something for the old id afterwards; it lands in the new chat.
        await IngestAsync(UpdateFactory.Message(group, 5, Bob, T + 9050, "late for the old id"));
        var snapshot = await SnapshotAsync(super.Id);
        await IngestAsync(UpdateFactory.Message(group, 5, Bob, T + 9050, "late for the old id"));

        Assert.Equal(0, await Count("SELECT count(*) FROM messages WHERE chat_id = $1", group.Id));
        Assert.Equal(0, await Count("SELECT count(*) FROM chat_user_hourly WHERE chat_id = $1", group.Id));
        Assert.Equal("-5,-2,-1,2", await db.ScalarAsync<string>("SELECT string_agg(message_id::text, ',' ORDER BY message_id) FROM messages WHERE chat_id = $1", super.Id));
        Assert.Equal(-1, await Count("SELECT reply_to_message_id FROM messages WHERE chat_id = $1 AND message_id = -2", super.Id));
        Assert.Equal(4, await Count("SELECT sum(messages) FROM chat_user_hourly WHERE chat_id = $1", super.Id));
        Assert.Equal(super.Id, await Count("SELECT migrated_to_chat_id FROM chats WHERE id = $1", group.Id));
        Assert.Equal(snapshot, await SnapshotAsync(super.Id));
        await AssertRollupMatchesRecountAsync();
        // The members' choices and the day's quota moved with the history: the upgrade undoes no opt-out.
        foreach (var table in new[] { "chat_member_prefs", "forgotten_members", "chat_daily_usage" })
        {
            Assert.Equal(0, await Count($"SELECT count(*) FROM {table} WHERE chat_id = $1", group.Id));
            Assert.Equal(1, await Count($"SELECT count(*) FROM {table} WHERE chat_id = $1", super.Id));
        }
        Assert.Equal(2, await Count("SELECT used::bigint FROM chat_daily_usage WHERE chat_id = $1", super.Id));
        await IngestAsync(UpdateFactory.Message(super, 3, Ann, T + 9200, "after the upgrade, still opted out"));
        Assert.Equal(0, await Count("SELECT count(text) FROM messages WHERE chat_id = $1 AND message_id = 3", super.Id));
    }

    /// <summary>
    /// A member opts out (or forgets themselves, or an admin switches text off) while a chunk with their next message is
    /// written but not committed: that chunk read the choice before it was saved, and the choice's change of the stored
    /// rows could not see the chunk's rows. The choice waits for the chunk, then changes what it wrote.
    /// </summary>
    [Fact]
    public async Task AChoiceSavedWhileAChunkIsInFlightReachesWhatTheChunkWrote()
    {
        var chat = new FakeChat(-100_009, "In flight");
        var privacy = new Privacy(db.DataSource, TimeProvider.System);
        await IngestAsync(UpdateFactory.Message(chat, 1, Ann, T, "before anyone chose"), UpdateFactory.Message(chat, 2, Bob, T + 1, "before anyone chose"));

        async Task WhileInFlightAsync(string update, Func<Task> choose, string choice)
        {
            await using var connection = await db.DataSource.OpenConnectionAsync();
            await using var tx = await connection.BeginTransactionAsync();
            await Writer.WriteAsync(Batch(update), connection, tx, [], CancellationToken.None);
            var choosing = choose();
            await Eventually.TrueAsync(async () => choosing.IsCompleted || await Count("""
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                """) > 0, () => $"{choice} waiting for the chunk in flight (it {(choosing.IsCompleted ? "finished without waiting" : "has not begun to wait")})");
            Assert.False(choosing.IsCompleted, $"{choice} finished while a chunk it could not see was still in flight");
            await tx.CommitAsync();
            await choosing;
        }

        await WhileInFlightAsync(UpdateFactory.Message(chat, 3, Ann, T + 2, "sent just after opting out"),
            () => privacy.SetOptOutAsync(chat.Id, Ann.Id, optedOut: true, CancellationToken.None), "/optout");
        Assert.Equal(0, await Count("SELECT count(*) FROM messages WHERE chat_id = $1 AND sender_user_id = $2 AND text IS NOT NULL", chat.Id, Ann.Id));
        Assert.Equal(2, await Count("SELECT count(*) FROM messages WHERE chat_id = $1 AND sender_user_id = $2", chat.Id, Ann.Id));

        await WhileInFlightAsync(UpdateFactory.Message(chat, 4, Bob, T + 3, "sent just after forgetme"),
            () => privacy.ForgetAsync(Bob.Id, chat.Id, CancellationToken.None), "/forgetme");
        Assert.Equal(0, await Count("SELECT count(*) FROM messages WHERE chat_id = $1 AND sender_user_id = $2", chat.Id, Bob.Id));
        Assert.Equal(0, await Count("SELECT count(*) FROM chat_user_hourly WHERE chat_id = $1 AND user_id = $2", chat.Id, Bob.Id));

        var carl = new FakeUser(1009, "Carl");
        await db.ExecuteAsync("UPDATE chats SET store_text = false WHERE id = $1", chat.Id);
        await WhileInFlightAsync(UpdateFactory.Message(chat, 5, carl, T + 4, "sent just after store_text off"),
            () => privacy.DropTextAsync(chat.Id, CancellationToken.None), "store_text off");
        Assert.Equal(0, await Count("SELECT count(*) FROM messages WHERE chat_id = $1 AND text IS NOT NULL", chat.Id));
        Assert.Equal(3, await Count("SELECT count(*) FROM messages WHERE chat_id = $1", chat.Id));
        await AssertRollupMatchesRecountAsync();
    }

    [Fact]
    public async Task EveryTableWithAChatIdSaysWhatBecomesOfItWhenAGroupBecomesASupergroup()
    {
        var tables = await db.ScalarAsync<string>(
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'chat_id'");

        // A new table with a chat_id fails here until IngestWriter.ChatTablesOnMigration (and the move, if it moves) says what becomes of it.
        Assert.Equal(string.Join(',', IngestWriter.ChatTablesOnMigration.Keys.Order(StringComparer.Ordinal)), tables);
    }

    [Fact]
    public async Task TextPostgresCannotStoreIsCleanedNotFatal()
    {
        var chat = new FakeChat(-100_006, "Nul\u0000 title");
        await IngestAsync(UpdateFactory.Message(chat, 1, new FakeUser(1005, "Nu\u0000ll"), T, "bad\u0000text \uD800 end"));

        Assert.Equal("badtext \uFFFD end", await db.ScalarAsync<string>("SELECT text FROM messages WHERE chat_id = $1", chat.Id));
        Assert.Equal("Nul title", await db.ScalarAsync<string>("SELECT title FROM chats WHERE id = $1", chat.Id));
        Assert.Equal("Null", await db.ScalarAsync<string>("SELECT first_name FROM users WHERE id = 1005"));
    }

    [Fact]
    public async Task ARenameIsRecordedOnceInTheNameHistory()
    {
        var chat = new FakeChat(-100_007, "Names");
        var dana = new FakeUser(1006, "Dana", Username: "dana");
        await IngestAsync(UpdateFactory.Message(chat, 1, dana, T, "hi"));
        await IngestAsync(UpdateFactory.Message(chat, 2, dana with { FirstName = "Dana K", Username = "danak" }, T + 100, "renamed"));
        await IngestAsync(UpdateFactory.Message(chat, 2, dana with { FirstName = "Dana K", Username = "danak" }, T + 100, "renamed"));
        await IngestAsync(UpdateFactory.Message(chat, 1, dana, T, "hi"));

        Assert.Equal("Dana|dana;Dana K|danak", await db.ScalarAsync<string>(
            "SELECT string_agg(first_name || '|' || username, ';' ORDER BY seen_at) FROM user_name_history WHERE user_id = 1006"));
        Assert.Equal("danak", await db.ScalarAsync<string>("SELECT username FROM users WHERE id = 1006"));
    }

    [Fact]
    public async Task RollupsAreBucketedByUtcHourAndKind()
    {
        var chat = new FakeChat(-100_008, "Hours");
        await IngestAsync(
            UpdateFactory.Message(chat, 1, Ann, T + 10, "x"),
            UpdateFactory.Message(chat, 2, Ann, T + 3599, "y", FakeKind.Photo),
            UpdateFactory.Message(chat, 3, Ann, T + 3600, null, FakeKind.Sticker),
            UpdateFactory.Message(chat, 4, Ann, T + 3601, null, FakeKind.Animation));

        Assert.Equal("2026-01-01 00:00:00+00|2|1|1|0|0;2026-01-01 01:00:00+00|2|0|0|1|1", await db.ScalarAsync<string>("""
            SELECT string_agg(concat_ws('|', to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00'), messages, text_count, photo_count, sticker_count, animation_count), ';' ORDER BY hour)
            FROM chat_user_hourly WHERE chat_id = $1
            """, chat.Id));
    }
}
