using System.Text;
using ChatStats.Bot.Import;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Stats;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Import;

public sealed class ImportTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"chatstats-import-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        Directory.CreateDirectory(_dir);
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        await _db.DisposeAsync();
    }

    private ExportImporter Importer(int batchSize = 5_000) => new(_db.DataSource, new IngestWriter(_db.DataSource), storeText: true, batchSize);

    [Fact]
    public async Task AWholeAccountExportOfAHundredThousandMessagesImportsEveryKindActionAndName()
    {
        var path = Path.Combine(_dir, "result.json");
        var expected = ExportBuilder.Write(path, 100_000, wholeAccount: true);
        var reports = new List<ImportProgress>();

        var summary = await Importer().ImportAsync(_dir, new Progress(reports), CancellationToken.None);

        var chat = Assert.Single(summary.Chats);
        Assert.Equal(ExportBuilder.BotApiChatId, chat.ChatId);
        Assert.Equal("supergroup", chat.Type);
        Assert.Equal("Imported <group> & co", chat.Title);
        Assert.Equal(expected.Messages, chat.Messages);
        Assert.Equal(expected.Messages, chat.Added);
        Assert.Equal(["A friend (personal_chat): not a group; ChatStats counts groups"], summary.Skipped);
        Assert.Equal(expected.Messages, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", chat.ChatId));
        Assert.Equal(expected.Counted, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_user_hourly WHERE chat_id = $1", chat.ChatId));
        Assert.Equal(expected.Words, await _db.ScalarAsync<long>("SELECT sum(words) FROM chat_user_hourly WHERE chat_id = $1", chat.ChatId));
        Assert.Equal(expected.Edited, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1 AND edited_at IS NOT NULL", chat.ChatId));
        Assert.Equal(expected.Replies, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1 AND reply_to_user_id IS NOT NULL", chat.ChatId)
            + await _db.ScalarAsync<long>("SELECT count(*) FROM messages m WHERE chat_id = $1 AND reply_to_message_id IS NOT NULL AND reply_to_user_id IS NULL", chat.ChatId));
        Assert.True(await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1 AND reply_to_user_id IS NOT NULL", chat.ChatId) > expected.Replies * 9 / 10);
        // Every reply names the sender of the message it answers, as it was read (the export gives only the message id).
        Assert.Equal(0, await _db.ScalarAsync<long>("""
            SELECT count(*) FROM messages m JOIN messages r ON r.chat_id = m.chat_id AND r.message_id = m.reply_to_message_id
            WHERE m.chat_id = $1 AND m.reply_to_user_id IS DISTINCT FROM r.sender_user_id
            """, chat.ChatId));
        Assert.Equal(expected.ServiceEvents, await _db.ScalarAsync<long>("SELECT count(*) FROM service_events WHERE chat_id = $1", chat.ChatId));
        Assert.Equal(expected.TitleChanges, await _db.ScalarAsync<long>("SELECT count(*) FROM chat_title_history WHERE chat_id = $1 AND message_id > 0", chat.ChatId));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id IN (777, -777)"));

        string[] kinds = ["text", "photo", "sticker", "voice", "video", "video_note", "audio", "document", "animation", "poll", "location", "contact"];
        foreach (var kind in kinds)
        {
            Assert.Equal(expected.Kinds.GetValueOrDefault(kind), await _db.ScalarAsync<long>($"SELECT sum({kind}_count) FROM chat_user_hourly WHERE chat_id = $1", chat.ChatId));
        }
        foreach (var (id, name) in expected.Users.Where(u => !u.Value.StartsWith("Member", StringComparison.Ordinal)).Take(20))
        {
            Assert.Equal(name, await _db.ScalarAsync<string>("SELECT first_name FROM users WHERE id = $1", id));
        }
        Assert.Equal("some words here bold part https://example.com", await _db.ScalarAsync<string>("SELECT text FROM messages WHERE chat_id = $1 AND message_id = 20", chat.ChatId));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
        Assert.NotEmpty(reports);
        Assert.Equal(expected.Messages, reports[^1].Messages);
    }

    [Fact]
    public async Task ImportingAgainAndMergingWithLiveHistoryAddsNoDuplicates()
    {
        var path = Path.Combine(_dir, "result.json");
        var expected = ExportBuilder.Write(path, 3_000, wholeAccount: false);
        // Message 5 arrived live before the import; the export has it too.
        var live = new IngestBatch();
        var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(new FakeChat(ExportBuilder.BotApiChatId, "Live title"), 5,
            new FakeUser(10_000 + (5 * 7919 % 500), "Live name"), 1_700_000_000 + 5 * 37, "some words here"))!.AsObject();
        node["update_id"] = 1;
        UpdateMapper.Map(UpdateFactory.Read(node), live, true);
        await new IngestWriter(_db.DataSource).WriteAsync(live, CancellationToken.None);

        var first = await Importer(batchSize: 700).ImportAsync(path, null, CancellationToken.None);
        var again = await Importer().ImportAsync(path, null, CancellationToken.None);

        Assert.Equal(expected.Messages - 1, first.Added);
        Assert.Equal(0, again.Added);
        Assert.Equal(expected.Messages, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        Assert.Equal(expected.Counted, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_user_hourly WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    [Fact]
    public async Task RepliesToMessagesBeforeTheExportAreLinkedFromRecordedHistory()
    {
        // Message 3 was recorded live; the export begins later, with a reply to it and a reply to that reply.
        await WriteLiveAsync(messageId: 3, new FakeUser(42, "Ann"), "the question");
        var path = Path.Combine(_dir, "result.json");
        await File.WriteAllTextAsync(path, $$"""
            {"name": "Group", "type": "private_supergroup", "id": {{ExportBuilder.ExportChatId}}, "messages": [
              {"id": 10, "type": "message", "date_unixtime": "1700000100", "from": "Bob", "from_id": "user43", "text": "an answer", "reply_to_message_id": 3},
              {"id": 11, "type": "message", "date_unixtime": "1700000200", "from": "Cid", "from_id": "user44", "text": "a reply", "reply_to_message_id": 10},
              {"id": 12, "type": "message", "date_unixtime": "1700000300", "from": "Cid", "from_id": "user44", "text": "to nothing", "reply_to_message_id": 7}
            ]}
            """);

        await Importer().ImportAsync(path, null, CancellationToken.None);

        const string replyTo = "SELECT coalesce(reply_to_user_id, 0) FROM messages WHERE chat_id = $1 AND message_id = $2";
        Assert.Equal(42, await _db.ScalarAsync<long>(replyTo, ExportBuilder.BotApiChatId, 10));
        Assert.Equal(43, await _db.ScalarAsync<long>(replyTo, ExportBuilder.BotApiChatId, 11));
        Assert.Equal(0, await _db.ScalarAsync<long>(replyTo, ExportBuilder.BotApiChatId, 12));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    [Fact]
    public async Task MemberTotalsAnInterruptedImportLeftPendingAreFoldedByTheRecurringJob()
    {
        // An import's batches as they are committed, with the process killed before its own fold (a day after the live message).
        await WriteLiveAsync(messageId: 1, new FakeUser(42, "Ann"), "live words");
        var batch = ExportedBatch(firstId: 2, endId: 400, startUnix: 1_700_086_400, secondsApart: 600);
        var writer = new IngestWriter(_db.DataSource);
        await writer.WriteBulkAsync(batch, fresh: true, CancellationToken.None);

        // The messages and hourly rollups are in; the members' totals wait, untouched, in the pending heap.
        Assert.Equal(399, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_hourly WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_user_totals WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        Assert.Equal(398, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_user_totals_pending WHERE chat_id = $1", ExportBuilder.BotApiChatId));

        await new FoldPendingTotalsJob(_db.DataSource, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<FoldPendingTotalsJob>.Instance)
            .RunAsync(CancellationToken.None);

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chat_user_totals_pending"));
        // The job folds and packs the imported texts' words too, for an installation whose bot is not running.
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chat_words_pending"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chat_word_days WHERE dirty AND day < (now() AT TIME ZONE 'UTC')::date"));
        Assert.Equal(1 + 80, await _db.ScalarAsync<long>("SELECT messages FROM chat_user_totals WHERE chat_id = $1 AND user_id = 42", ExportBuilder.BotApiChatId));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    [Fact]
    public async Task ABatchSaidToBeFreshThatMeetsARecordedMessageIsMergedInstead()
    {
        // A live update lands inside the export's span after the import looked (a race): the plain insert fails on the
        // key, and the batch goes in again the merging way, counted once.
        await WriteLiveAsync(messageId: 7, new FakeUser(42, "Ann"), "live words");
        var batch = ExportedBatch(firstId: 2, endId: 50, startUnix: 1_700_000_000, secondsApart: 1);
        var writer = new IngestWriter(_db.DataSource);

        Assert.False(await writer.WriteBulkAsync(batch, fresh: true, CancellationToken.None));
        Assert.True(await writer.WriteBulkAsync(batch, fresh: false, CancellationToken.None));
        await ChatStats.Bot.Data.RollupTriggers.FoldPendingAsync(_db.DataSource, CancellationToken.None);

        Assert.Equal(48, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        Assert.Equal(48, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_user_totals WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        Assert.Equal("live words", await _db.ScalarAsync<string>("SELECT text FROM messages WHERE chat_id = $1 AND message_id = 7", ExportBuilder.BotApiChatId));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    [Fact]
    public async Task AnImportBringsBackNothingOfSomeoneWhoSaidForgetMe()
    {
        // Ann said /forgetme in the group; Bob said it in a private chat with the bot, for every chat.
        await WriteLiveAsync(messageId: 3, new FakeUser(42, "Ann"), "mine");
        var privacy = new Privacy(_db.DataSource, TimeProvider.System);
        await privacy.ForgetAsync(42, ExportBuilder.BotApiChatId, CancellationToken.None);
        await privacy.ForgetAsync(43, null, CancellationToken.None);
        // An export taken before that: their messages, Bob joining, and Cid answering Ann.
        var path = Path.Combine(_dir, "result.json");
        await File.WriteAllTextAsync(path, $$"""
            {"name": "Group", "type": "private_supergroup", "id": {{ExportBuilder.ExportChatId}}, "messages": [
              {"id": 1, "type": "service", "date_unixtime": "1700000000", "actor": "Bob", "actor_id": "user43", "action": "join_group_by_link"},
              {"id": 3, "type": "message", "date_unixtime": "1700000000", "from": "Ann", "from_id": "user42", "text": "mine"},
              {"id": 4, "type": "message", "date_unixtime": "1700000100", "from": "Bob", "from_id": "user43", "text": "bob was here"},
              {"id": 5, "type": "message", "date_unixtime": "1700000200", "from": "Cid", "from_id": "user44", "text": "an answer", "reply_to_message_id": 3}
            ]}
            """);

        await Importer().ImportAsync(path, null, CancellationToken.None);

        Assert.Equal(new[] { 5 }, await MessageIdsAsync());
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE reply_to_user_id IS NOT NULL"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM service_events WHERE 43 IN (user_id, target_user_id)"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM users WHERE id = 43"));
        Assert.Equal("Cid", await _db.ScalarAsync<string>("SELECT first_name FROM users WHERE id = 44"));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);

        // What they write afterwards counts as usual.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        await WriteLiveAsync(messageId: 20, new FakeUser(42, "Ann"), "back again", now);
        await WriteLiveAsync(messageId: 21, new FakeUser(43, "Bob"), "me too", now);
        Assert.Equal(new[] { 5, 20, 21 }, await MessageIdsAsync());
        Assert.Equal("Bob", await _db.ScalarAsync<string>("SELECT first_name FROM users WHERE id = 43"));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    /// <summary>Exported messages <paramref name="firstId"/> to <paramref name="endId"/> (exclusive), mapped as an import maps them, from five members (user40–user44).</summary>
    private static IngestBatch ExportedBatch(int firstId, int endId, long startUnix, int secondsApart)
    {
        var batch = new IngestBatch();
        for (var id = firstId; id < endId; id++)
        {
            using var doc = System.Text.Json.JsonDocument.Parse($$"""
                {"id": {{id}}, "type": "message", "date_unixtime": "{{startUnix + id * secondsApart}}", "from": "M", "from_id": "user{{40 + id % 5}}", "text": "two words"}
                """);
            ExportMapper.Map(doc.RootElement, ExportBuilder.BotApiChatId, "supergroup", "Group", batch, storeText: true);
        }
        return batch;
    }

    private async Task<int[]> MessageIdsAsync()
    {
        var ids = new List<int>();
        await using var cmd = _db.DataSource.CreateCommand("SELECT message_id FROM messages WHERE chat_id = $1 ORDER BY message_id");
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = ExportBuilder.BotApiChatId });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt32(0));
        }
        return [.. ids];
    }

    private async Task WriteLiveAsync(int messageId, FakeUser from, string text, long date = 1_700_000_000)
    {
        var live = new IngestBatch();
        var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(new FakeChat(ExportBuilder.BotApiChatId, "Group"), messageId, from, date, text))!.AsObject();
        node["update_id"] = messageId;
        UpdateMapper.Map(UpdateFactory.Read(node), live, true);
        await new IngestWriter(_db.DataSource).WriteAsync(live, CancellationToken.None);
    }

    [Fact]
    public async Task TheReaderStreamsWithABufferFarSmallerThanTheFile()
    {
        var path = Path.Combine(_dir, "result.json");
        ExportBuilder.Write(path, 2_000, wholeAccount: true);
        await using var stream = File.OpenRead(path);
        var json = new JsonTokenStream(stream, bufferSize: 256);
        var messages = 0;
        while (json.Read())
        {
            if (json.Token == System.Text.Json.JsonTokenType.PropertyName && json.Text == "messages" && json.Read())
            {
                while (json.Read() && json.Token != System.Text.Json.JsonTokenType.EndArray)
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(json.ReadValueBytes());
                    Assert.True(doc.RootElement.TryGetProperty("id", out _));
                    messages++;
                }
            }
        }
        Assert.Equal(2_001, messages); // the private chat's one and the group's two thousand
        Assert.Equal(new FileInfo(path).Length, json.BytesRead);
    }

    [Theory]
    [InlineData("missing", "does not exist.")]
    [InlineData("not json at all", "is not valid JSON near byte")]
    [InlineData("[1, 2, 3]", "is not a Telegram Desktop export: it does not start with a JSON object.")]
    [InlineData("{\"about\": \"x\", \"list\": []}", "holds no chat history.")]
    [InlineData("{\"name\": \"x\", \"type\": \"private_supergroup\", \"id\": 5, \"messages\": [{\"id\": 1, \"type\": \"message\"", "truncated")]
    [InlineData("deep", "its values are nested more than 256 levels deep")]
    public async Task WhatIsNotAnExportIsExplained(string content, string expected)
    {
        var path = Path.Combine(_dir, "result.json");
        if (content == "deep")
        {
            // 200,000 arrays deep: once reported as truncated, which sent its reader looking for an interrupted export.
            content = "{\"messages\": " + new string('[', 200_000);
        }
        if (content != "missing")
        {
            await File.WriteAllTextAsync(path, content, Encoding.UTF8);
        }

        var error = await Assert.ThrowsAsync<ImportException>(() => Importer().ImportAsync(path, null, CancellationToken.None));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), error.Message);
    }

    private sealed class Progress(List<ImportProgress> reports) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => reports.Add(value);
    }
}
