using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatStats.Testing;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Types;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Fuzz;

/// <summary>
/// Updates as a buggy or forged sender could make them, through the running bot: damaged real-shaped updates by long
/// polling, and by webhook damaged bodies too. Each damaged update sits between untouched ones in a control chat; every
/// untouched one must be recorded, every update the library cannot read dead-lettered with its bytes, no handler may
/// fail, every reply must be one Telegram accepts, the rollups must match, and the bot must still answer afterwards.
/// </summary>
public sealed class UpdateFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "fuzz_webhook-secret";
    private const string HookPath = "/telegram/fuzz-hook";
    private static readonly FakeChat Control = new(-100_999, "Control room");
    private static readonly FakeChat[] Groups = [new(-100_501, "Fuzz <one>"), new(-100_502, "Fuzz & two"), new(-502, "Old-style group", Type: "group"), new(-100_503, "Forum", IsForum: true)];
    private static readonly FakeUser[] People = [new(7_001, "Ann"), new(7_002, "Борис"), new(7_003, "\u202eevil", Username: "evil"), new(7_004, "<b>Bold</b> & co")];

    private readonly PostgresDatabase _db = new();
    private readonly LogLines _logs = new();
    private FakeBotApi _api = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private Task<BotHarness> StartAsync(Dictionary<string, string?>? settings = null) =>
        BotHarness.StartAsync(_api, _db.ConnectionString, web: settings is not null, settings: settings,
            services: s => s.AddLogging(b => b.AddProvider(_logs)));

    [Fact]
    public async Task DamagedUpdatesByLongPollingAreDeadLetteredOrRecordedAndCostNothingElse()
    {
        await using var bot = await StartAsync();
        var inputs = new Dictionary<long, (string Input, bool Keyed)>();
        var controls = 0;
        await Fuzz.RunAsync(output, "updates-polling", 250, c =>
        {
            var update = RealShapedUpdate(c);
            JsonMutator.Mutate(c, update, c.Random.Next(1, 4));
            // Long polling hands over what Telegram serialised: text, so bytes that are not UTF-8 arrive as U+FFFD.
            c.Input = Encoding.UTF8.GetString(JsonMutator.Finish(update));
            inputs[_api.AddUpdate(c.Input)] = (c.Input, true);
            _api.AddUpdate(UpdateFactory.Message(Control, ++controls, People[0], UpdateFactory.BaseDate + controls, $"control {controls}"));
            return Task.CompletedTask;
        });
        await bot.SettledAsync();

        await AssertHandledAsync(bot, inputs, controls, question =>
        {
            _api.AddUpdate(question);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task DamagedWebhookBodiesAreAcknowledgedKeptOrRecordedAndCostNothingElse()
    {
        await using var bot = await StartAsync(new()
        {
            ["Telegram:Mode"] = "webhook",
            ["Telegram:WebhookUrl"] = $"https://stats.example.test{HookPath}",
            ["Telegram:WebhookSecret"] = Secret,
            ["Telegram:WebhookMaxBodyBytes"] = "65536",
        });
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret);
        var inputs = new Dictionary<long, (string Input, bool Keyed)>();
        var statuses = new Dictionary<HttpStatusCode, int>();
        var controls = 0;
        long nextId = 1;
        await Fuzz.RunAsync(output, "updates-webhook", 200, async c =>
        {
            var id = nextId++;
            var update = RealShapedUpdate(c);
            JsonMutator.Mutate(c, update, c.Random.Next(1, 4));
            update["update_id"] = id;
            var body = JsonMutator.Finish(update);
            var contentType = "application/json";
            switch (c.Random.Next(10))
            {
                case 0:
                    body = body[..c.Random.Next(body.Length)];
                    break;
                case 1:
                    contentType = c.Pick(new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "" });
                    break;
                case 2:
                    body = c.Pick(new[] { "[]"u8.ToArray(), "null"u8.ToArray(), "\"update\""u8.ToArray(), "{}"u8.ToArray(), Array.Empty<byte>(), Encoding.UTF8.GetBytes(new string('{', 5_000)) });
                    break;
                case 3:
                    // Over Telegram:WebhookMaxBodyBytes: kept cut as a dead letter.
                    body = Encoding.UTF8.GetBytes($"{{\"update_id\":{id},\"message\":{{\"text\":\"{new string('x', 70_000)}\"}}}}");
                    break;
            }
            c.Input = Encoding.UTF8.GetString(body);
            var status = await telegram.PostAsync(body, Secret, contentType);
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            // Acknowledged whatever it holds: sending it again could not make it readable.
            Assert.Equal(HttpStatusCode.OK, status);
            // A body cut for its size, or not an object with an update_id, is kept without an id.
            inputs[id] = (c.Input, body.Length <= 65_536 && IdOf(c.Input) == id);
            controls++;
            var control = WebhookDelivery.Number([UpdateFactory.Message(Control, controls, People[0], UpdateFactory.BaseDate + controls, $"control {controls}")], firstId: 1_000_000 + controls).Single();
            Assert.Equal(HttpStatusCode.OK, await telegram.PostAsync(control, Secret));
        });
        // Without the secret, or with a wrong one: refused, nothing stored.
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostAsync("{\"update_id\":5}"u8.ToArray(), null));
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostAsync("{\"update_id\":5}"u8.ToArray(), Secret + "x"));
        await bot.SettledAsync();

        await AssertHandledAsync(bot, inputs, controls, question => telegram.PostAsync(WebhookDelivery.Number([question], firstId: 2_000_000).Single(), Secret));
        output.WriteLine(string.Join(", ", statuses.Select(s => $"{(int)s.Key}: {s.Value}")));
    }

    private async Task AssertHandledAsync(BotHarness bot, Dictionary<long, (string Input, bool Keyed)> inputs, int controls, Func<string, Task> ask)
    {
        // Damage to one update never costs another: every control message is recorded.
        Assert.Equal(controls, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", Control.Id));
        // What the library cannot read is kept, bytes and all, where an operator will find it: by its id when it has one.
        var keyed = await _db.ScalarAsync<long[]>("SELECT coalesce(array_agg(update_id), '{}') FROM dead_letters WHERE update_id IS NOT NULL");
        var unkeyed = await _db.ScalarAsync<long>("SELECT count(*) FROM dead_letters WHERE update_id IS NULL");
        var unreadable = inputs.Where(i => !Readable(i.Value.Input)).ToList();
        var withId = unreadable.Where(i => i.Value.Keyed).ToList();
        foreach (var (id, input) in withId.Where(i => !keyed.Contains(i.Key)))
        {
            Assert.Fail($"update {id} cannot be read but was not dead-lettered: {Fuzz.Shorten(input.Input, 600)}");
        }
        Assert.True(unkeyed >= unreadable.Count - withId.Count, $"{unreadable.Count - withId.Count} bodies without a readable update_id, {unkeyed} kept");
        Fuzz.AssertNoErrorsLogged(_logs);
        Assert.True(_api.Refused.Count == 0, $"replies Telegram refused: {string.Join("\n", _api.Refused.Take(3))}");
        foreach (var sent in _api.Sent)
        {
            Fuzz.AssertNoInternals(sent.Text, "a reply");
        }
        output.WriteLine($"{inputs.Count} damaged updates: {unreadable.Count} unreadable, {keyed.Length + unkeyed} dead letters, {_api.Sent.Count} replies");

        // The bot still answers (someone new asks: the fuzzed people may have used up their own command limits).
        await ask(UpdateFactory.Message(Control, controls + 1, new FakeUser(7_999, "Late"), UpdateFactory.BaseDate + controls + 1, "/stats all"));
        await _api.WaitForSentAsync(m => m.ChatId == Control.Id && m.Text.Contains("Control room", StringComparison.Ordinal), 1, BotHarness.Patience);
        // Checked with the bot stopped: its own folds and packs would race the recount.
        await bot.StopAsync();
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }

    /// <summary>The update_id of a body that is a JSON object with one, else null.</summary>
    private static long? IdOf(string json)
    {
        try
        {
            return JsonNode.Parse(json) is JsonObject o && o["update_id"] is JsonValue v && v.TryGetValue<long>(out var id) && id > 0 ? id : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool Readable(string json) => new ChatStats.Telegram.Receiving.RawUpdate(0, Encoding.UTF8.GetBytes(json)).Read().IsReadable;

    /// <summary>An update as Telegram sends them to a group bot: messages of every kind, commands, edits, service messages, membership.</summary>
    private static JsonNode RealShapedUpdate(FuzzCase c)
    {
        var chat = c.Pick(Groups);
        var from = c.Pick(People);
        var id = c.Number + 1;
        var date = UpdateFactory.BaseDate + c.Number * 13;
        var json = c.Random.Next(10) switch
        {
            0 => UpdateFactory.Message(chat, id, from, date, c.Pick(new[] { "/stats", "/top 7d", "/me", "/words 30d", "/activity", "/history", "/help", "/settings", "/summary", "/report" })
                + (c.Chance(0.5) ? " " + c.Pick(JsonMutator.HostileStrings) : "")),
            1 => UpdateFactory.Message(chat, id, from, date, "with a photo", c.Pick(Enum.GetValues<FakeKind>())),
            2 => UpdateFactory.Edited(chat, id, from, date, date + 30, "edited " + c.Pick(JsonMutator.HostileStrings)),
            3 => UpdateFactory.Joined(chat, id, from, date, People[c.Random.Next(People.Length)]),
            4 => UpdateFactory.Left(chat, id, from, date, People[c.Random.Next(People.Length)]),
            5 => UpdateFactory.TitleChanged(chat, id, from, date, c.Pick(JsonMutator.HostileStrings)),
            6 => UpdateFactory.MyChatMember(chat, from, date, "left", "member"),
            7 => UpdateFactory.Message(chat, id, from, date, "a reply " + c.Pick(JsonMutator.HostileStrings), replyTo: Math.Max(1, id - 1), replyToFrom: c.Pick(People)),
            _ => UpdateFactory.Message(chat, id, from, date, c.Pick(JsonMutator.HostileStrings) + " plain words"),
        };
        var node = JsonNode.Parse(json)!;
        if (c.Chance(0.2) && node["message"] is JsonObject message && message["text"] is JsonValue text)
        {
            // Entities that point outside the text, or overlap it oddly.
            var length = text.GetValue<string>().Length;
            message["entities"] = new JsonArray(
                new JsonObject { ["type"] = "bot_command", ["offset"] = c.Random.Next(-5, length + 50), ["length"] = c.Random.Next(-3, 10_000) },
                new JsonObject { ["type"] = c.Pick(new[] { "mention", "text_mention", "url", "custom_emoji", "future_kind" }), ["offset"] = length + 100, ["length"] = 5 });
        }
        if (c.Chance(0.05) && node["message"] is JsonObject big)
        {
            // Far over Telegram's 4,096 characters, as a forged sender could send.
            big["text"] = string.Concat(Enumerable.Repeat("word ", 20_000));
        }
        return node;
    }
}
