using System.Text;
using ChatStats.Bot.Import;
using ChatStats.Bot.Ingest;
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
        UpdateMapper.Map(System.Text.Json.JsonSerializer.Deserialize(node.ToJsonString(), ChatStats.Telegram.TelegramJsonContext.Default.Update)!, live, true);
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
    [InlineData("{\"name\": \"x\", \"type\": \"private_supergroup\", \"messages\": [{\"id\": 1}]}", "has messages but no id")]
    [InlineData("{\"name\": \"x\", \"type\": \"private_supergroup\", \"id\": 5, \"messages\": [{\"id\": 1, \"type\": \"message\"", "truncated")]
    public async Task WhatIsNotAnExportIsExplained(string content, string expected)
    {
        var path = Path.Combine(_dir, "result.json");
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
