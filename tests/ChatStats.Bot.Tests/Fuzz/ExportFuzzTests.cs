using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatStats.Bot.Import;
using ChatStats.Bot.Ingest;
using ChatStats.Testing;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Fuzz;

/// <summary>
/// Telegram Desktop exports as a stranger could hand them to <c>chatstats import</c>: damaged real-shaped exports of both
/// layouts, raw damage to the bytes, and the corpus. Every case either imports, skipping and naming what it cannot
/// read, or is refused with a message an operator can act on; never an unhandled exception, a hang, rollups that no
/// longer match the messages, or a change to a chat the file is not about.
/// </summary>
public sealed class ExportFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long LiveChat = -100_777;
    private readonly PostgresDatabase _db = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("chatstats-fuzz-export").FullName;
    private string _liveFingerprint = "";

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        // A chat recorded live, which no export here is about: it must come out of every case exactly as it went in.
        var live = new IngestBatch();
        for (var id = 1; id <= 50; id++)
        {
            var node = JsonNode.Parse(UpdateFactory.Message(new FakeChat(LiveChat, "Live"), id, new FakeUser(500 + id % 4, "Live member"), 1_700_000_000 + id * 60, $"live words {id}"))!.AsObject();
            node["update_id"] = id;
            UpdateMapper.Map(UpdateFactory.Read(node), live, true);
        }
        await new IngestWriter(_db.DataSource).WriteAsync(live, CancellationToken.None);
        _liveFingerprint = await LiveFingerprintAsync();
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        await _db.DisposeAsync();
    }

    // Small batches, so that a dozen messages already make several batches written by concurrent writers.
    private ExportImporter Importer() => new(_db.DataSource, new IngestWriter(_db.DataSource), storeText: true, batchSize: 4);

    [Fact]
    public async Task DamagedExportsImportWhatCanBeReadAndNameWhatCannot()
    {
        var outcomes = new Dictionary<string, int>();
        await Fuzz.RunAsync(output, "exports", 160, async c =>
        {
            var wholeAccount = c.Chance(0.3);
            var export = RealShapedExport(c, wholeAccount);
            JsonMutator.Mutate(c, export, c.Random.Next(1, 4));
            var bytes = JsonMutator.Finish(export);
            var rawDamage = c.Chance(0.15);
            if (rawDamage)
            {
                bytes = DamageBytes(c, bytes);
            }
            c.Input = Encoding.UTF8.GetString(bytes);
            var path = Path.Combine(_dir, "result.json");
            await File.WriteAllBytesAsync(path, bytes);

            var (outcome, summary) = await ImportAsync(path);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (!rawDamage && summary is not null)
            {
                // Every entry of a group's list was read as a message, read as a service action, or skipped and counted.
                var lists = ListsIn(export).ToList();
                foreach (var chat in summary.Chats)
                {
                    Assert.Contains(chat.Messages + chat.Actions + chat.Skipped.Count, lists);
                }
            }
            await AssertNothingElseChangedAsync();
        });
        output.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
    }

    [Fact]
    public async Task TheCorpusOfKnownNastyExportsIsHandled()
    {
        var files = Fuzz.Corpus("exports");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var (outcome, _) = await ImportAsync(file);
            // Corpus files are named for what must happen to them: imported-*, skipped-* (imported, some left out), refused-*.
            Assert.True(Path.GetFileName(file).StartsWith(outcome + "-", StringComparison.Ordinal), $"{Path.GetFileName(file)}: {outcome}");
            await AssertNothingElseChangedAsync();
        }
        output.WriteLine($"fuzz exports corpus: {files.Length} files");
    }

    [Fact]
    public async Task AMessageWhoseIdIsAStringIsSkippedAndNamedWhileTheRestImports()
    {
        var path = Path.Combine(_dir, "result.json");
        await File.WriteAllTextAsync(path, $$"""
            {"name": "Group", "type": "private_supergroup", "id": {{ExportBuilder.ExportChatId}}, "messages": [
              {"id": 1, "type": "message", "date_unixtime": "1700000000", "from": "Ann", "from_id": "user42", "text": "first"},
              {"id": "2", "type": "message", "date_unixtime": "1700000060", "from": "Ann", "from_id": "user42", "text": "a string id"},
              {"id": 3, "type": "message", "date_unixtime": "4102444800", "from": "Ann", "from_id": "user42", "text": "from 2100"},
              {"id": 4, "type": "message", "from": "Ann", "from_id": "user42", "text": "no date"},
              {"id": 1, "type": "message", "date_unixtime": "1700000120", "from": "Bob", "from_id": "user43", "text": "the same id again"},
              [1, 2, 3],
              {"id": 5, "type": "message", "date_unixtime": "1700000180", "from": "Bob", "from_id": "user43", "text": "last", "reply_to_message_id": "1"}
            ]}
            """);

        var summary = await Importer().ImportAsync(path, null, CancellationToken.None);

        var chat = Assert.Single(summary.Chats);
        Assert.Equal(2, chat.Messages);
        Assert.Equal(5, chat.Skipped.Count);
        Assert.Equal(
            [
                "#2: its id is a string, not a number",
                "id 3: its date 2100-01-01 00:00 UTC is in the future",
                "id 4: it has no readable date (date_unixtime or date)",
                "id 1: appears again; the first was kept",
                "#6: not a message object but an array",
            ],
            chat.Skipped.First);
        Assert.Equal(new long[] { 1, 5 }, await _db.ScalarAsync<long[]>("SELECT array_agg(message_id::bigint ORDER BY message_id) FROM messages WHERE chat_id = $1", ExportBuilder.BotApiChatId));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    /// <summary>
    /// Imports; returns "imported", "skipped" (imported but for some entries) or "refused", failing on anything else or
    /// on a message that shows internals.
    /// </summary>
    private async Task<(string Outcome, ImportSummary? Summary)> ImportAsync(string path)
    {
        try
        {
            var summary = await Importer().ImportAsync(path, null, CancellationToken.None);
            foreach (var chat in summary.Chats)
            {
                Fuzz.AssertNoInternals(chat.Skipped.ToString(), "the import summary");
            }
            foreach (var skipped in summary.Skipped)
            {
                Fuzz.AssertNoInternals(skipped, "the import summary");
            }
            return (summary.SkippedMessages > 0 || summary.Chats.Count == 0 ? "skipped" : "imported", summary);
        }
        catch (ImportException ex)
        {
            Fuzz.AssertNoInternals(ex.Message, "the import's refusal");
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            return ("refused", null);
        }
    }

    /// <summary>The length of every "messages" list in the file.</summary>
    private static IEnumerable<long> ListsIn(JsonNode? node) => node switch
    {
        JsonObject obj => (obj["messages"] is JsonArray messages ? [(long)messages.Count] : Array.Empty<long>()).Concat(obj.SelectMany(p => ListsIn(p.Value))),
        JsonArray array => array.SelectMany(ListsIn),
        _ => [],
    };

    private async Task AssertNothingElseChangedAsync()
    {
        Assert.Equal(_liveFingerprint, await LiveFingerprintAsync());
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    private Task<string> LiveFingerprintAsync() => _db.ScalarAsync<string>("""
        SELECT md5(coalesce((SELECT string_agg(m::text, '|' ORDER BY message_id) FROM messages m WHERE chat_id = $1), '')
                || coalesce((SELECT string_agg(h::text, '|' ORDER BY hour, user_id) FROM chat_user_hourly h WHERE chat_id = $1), '')
                || coalesce((SELECT string_agg(c::text, '|') FROM chats c WHERE id = $1), ''))
        """, LiveChat);

    /// <summary>Raw damage a copy or an editor does: cut short, a stretch overwritten with garbage, a byte-order mark.</summary>
    private static byte[] DamageBytes(FuzzCase c, byte[] bytes)
    {
        switch (c.Random.Next(3))
        {
            case 0:
                return bytes[..c.Random.Next(bytes.Length)];
            case 1:
                var copy = (byte[])bytes.Clone();
                var at = c.Random.Next(copy.Length);
                for (var i = at; i < Math.Min(copy.Length, at + c.Random.Next(1, 64)); i++)
                {
                    copy[i] = (byte)c.Random.Next(256);
                }
                return copy;
            default:
                return [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, .. bytes];
        }
    }

    /// <summary>
    /// A small export as Telegram Desktop writes one: messages of every kind, formatted text, replies, edits, forwards,
    /// a channel speaking, service actions; alone or inside a whole account's export beside a private chat.
    /// </summary>
    private static JsonObject RealShapedExport(FuzzCase c, bool wholeAccount)
    {
        var messages = new JsonArray();
        var unix = 1_700_000_000L + c.Random.Next(0, 10_000_000);
        for (var id = 1; id <= c.Random.Next(6, 16); id++)
        {
            unix += c.Random.Next(1, 7_200);
            var user = 10_000 + c.Random.Next(5);
            var m = new JsonObject
            {
                ["id"] = id,
                ["type"] = "message",
                ["date"] = DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime.ToString("s", System.Globalization.CultureInfo.InvariantCulture),
                ["date_unixtime"] = unix.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["from"] = c.Pick(UpdateFactory.HostileNames).Replace("\u0000", "", StringComparison.Ordinal),
                ["from_id"] = $"user{user}",
            };
            switch (c.Random.Next(9))
            {
                case 0:
                    m["text"] = new JsonArray("some ", new JsonObject { ["type"] = "bold", ["text"] = "bold" }, " and ", new JsonObject { ["type"] = "link", ["text"] = "https://example.com" });
                    m["text_entities"] = new JsonArray(new JsonObject { ["type"] = "plain", ["text"] = "some " }, new JsonObject { ["type"] = "bold", ["text"] = "bold" });
                    break;
                case 1:
                    m["photo"] = "photos/photo_1.jpg";
                    m["width"] = 1280;
                    m["height"] = 720;
                    m["text"] = "";
                    break;
                case 2:
                    m["file"] = "stickers/sticker.webp";
                    m["media_type"] = c.Pick(new[] { "sticker", "voice_message", "video_message", "video_file", "audio_file", "animation" });
                    m["text"] = "";
                    break;
                case 3:
                    m["type"] = "service";
                    m.Remove("from");
                    m.Remove("from_id");
                    m["actor"] = "Admin";
                    m["actor_id"] = $"user{user}";
                    m["action"] = c.Pick(new[] { "invite_members", "remove_members", "edit_group_title", "pin_message", "join_group_by_link", "migrate_from_group", "phone_call" });
                    m["members"] = new JsonArray("New member", "Another");
                    m["title"] = "A new title";
                    m["text"] = "";
                    break;
                case 4:
                    m["from"] = "Linked channel";
                    m["from_id"] = "channel1500000000";
                    m["text"] = "a post from the channel";
                    break;
                case 5:
                    m["poll"] = new JsonObject { ["question"] = "Why?", ["answers"] = new JsonArray(new JsonObject { ["text"] = "because", ["voters"] = 3 }) };
                    m["text"] = "";
                    break;
                default:
                    m["text"] = c.Pick(new[] { "hello there everyone", "ok", "Привет, как дела?", "what about <b>this</b> & that", "🎉🎉🎉" });
                    break;
            }
            if (id > 1 && c.Chance(0.3))
            {
                m["reply_to_message_id"] = c.Random.Next(1, id);
            }
            if (c.Chance(0.2))
            {
                m["edited"] = m["date"]!.GetValue<string>();
                m["edited_unixtime"] = (unix + 60).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            if (c.Chance(0.1))
            {
                m["forwarded_from"] = "Somebody";
            }
            messages.Add(m);
        }
        var group = new JsonObject
        {
            ["name"] = "Fuzzed group",
            ["type"] = c.Pick(new[] { "private_supergroup", "public_supergroup", "private_group" }),
            ["id"] = ExportBuilder.ExportChatId,
            ["messages"] = messages,
        };
        if (!wholeAccount)
        {
            return group;
        }
        var friend = new JsonObject
        {
            ["name"] = "A friend",
            ["type"] = "personal_chat",
            ["id"] = 777,
            ["messages"] = new JsonArray(new JsonObject { ["id"] = 1, ["type"] = "message", ["date_unixtime"] = "1700000000", ["text"] = "private" }),
        };
        return new JsonObject
        {
            ["about"] = "Here is the data you requested.",
            ["personal_information"] = new JsonObject { ["user_id"] = 42, ["first_name"] = "Exporter" },
            ["chats"] = new JsonObject { ["about"] = "This page lists all chats from this export.", ["list"] = new JsonArray(friend, group) },
        };
    }
}
