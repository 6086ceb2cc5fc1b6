using System.Diagnostics;
using System.Net;
using System.Text;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Bot.Tests.Ingest;

/// <summary>
/// Webhook mode end to end: Telegram's deliveries (concurrent, retried until answered 200) into the web role, the inbox,
/// and the recording bot, with the same guarantees as polling.
/// </summary>
public sealed class WebhookIngestTests : IAsyncLifetime
{
    private const string Secret = "test_webhook-secret_42";
    private const string HookPath = "/telegram/hook-7f3a";
    private readonly PostgresDatabase _db = new();
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

    private static Dictionary<string, string?> WebhookSettings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Telegram:Mode"] = "webhook",
            ["Telegram:WebhookUrl"] = $"https://stats.example.test{HookPath}",
            ["Telegram:WebhookSecret"] = Secret,
            ["Telegram:WebhookMaxConnections"] = "40",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        return settings;
    }

    private Task<BotHarness> StartAsync(Dictionary<string, string?>? more = null, string? connectionString = null) =>
        BotHarness.StartAsync(_api, connectionString ?? _db.ConnectionString, web: true, settings: WebhookSettings(more));

    private async Task RecordedAsync(long messages) =>
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM messages") >= messages
                                          && await _db.ScalarAsync<long>("SELECT count(*) FROM update_inbox") == 0, "everything recorded");

    [Fact]
    public async Task TenThousandVariedUpdatesDeliveredConcurrentlyAndSomeTwiceAreRecordedExactlyOnce()
    {
        var traffic = Traffic.Generate(10_000, seed: 17);
        var bodies = WebhookDelivery.Number(traffic.Updates);
        await using var bot = await StartAsync();
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret, concurrency: 40);

        // Every twentieth update comes twice, as Telegram sends again what it did not see answered.
        await telegram.DeliverAllAsync([.. bodies, .. bodies.Where((_, i) => i % 20 == 0)]);
        await RecordedAsync(traffic.MessageRows);

        await _db.AssertRecordedExactlyAsync(traffic);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM dead_letters"));
        var hook = Assert.IsType<FakeWebhook>(_api.Webhook);
        Assert.Equal(($"https://stats.example.test{HookPath}", Secret, 40), (hook.Url, hook.SecretToken, hook.MaxConnections));
        Assert.Contains("\"my_chat_member\"", hook.AllowedUpdates);
        Assert.Equal(0, _api.GetUpdatesCalls);
    }

    [Fact]
    public async Task ACommandDeliveredThreeTimesIsAnsweredOnce()
    {
        var chat = new FakeChat(-100_777, "Team");
        var body = WebhookDelivery.Number([UpdateFactory.Message(chat, 5, new FakeUser(1, "Ann"), UpdateFactory.BaseDate, "/help")], firstId: 900).Single();
        await using var bot = await StartAsync();
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret);

        await telegram.DeliverAllAsync([body, body, body]);
        await _api.WaitForSentAsync(s => s.ChatId == chat.Id, 1, BotHarness.Patience);
        await bot.SettledAsync();

        Assert.Single(_api.Sent, s => s.ChatId == chat.Id);
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM handled_updates WHERE update_id = 900"));
    }

    [Fact]
    public async Task CallsWithoutTheSecretAreRefusedAndStoreNothing()
    {
        var body = WebhookDelivery.Number([UpdateFactory.Message(new FakeChat(-5, "g"), 1, new FakeUser(1, "A"), UpdateFactory.BaseDate)]).Single();
        await using var bot = await StartAsync();
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret);

        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostAsync(body, secretToken: null));
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostAsync(body, secretToken: "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostAsync(body, secretToken: Secret + "x"));
        // A delivery with the secret, after them, goes through the same inbox: once it is recorded, anything the
        // refused calls had left on its way would be recorded too.
        var barrier = WebhookDelivery.Number([UpdateFactory.Message(new FakeChat(-6, "h"), 1, new FakeUser(1, "A"), UpdateFactory.BaseDate)], firstId: 2).Single();
        Assert.Equal(HttpStatusCode.OK, await telegram.PostAsync(barrier, secretToken: Secret));
        await bot.SettledAsync();

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM update_inbox"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = -5"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = -6"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM dead_letters"));
    }

    [Fact]
    public async Task ABodyThatIsNotAnUpdateIsKeptAsADeadLetterAndAcknowledged()
    {
        var chat = new FakeChat(-100_55, "g");
        await using var bot = await StartAsync(new() { ["Telegram:WebhookMaxBodyBytes"] = "4096" });
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret);
        var oversized = Encoding.UTF8.GetBytes("{\"update_id\":7,\"message\":{\"text\":\"" + new string('x', 10_000) + "\"}}");
        var valid = WebhookDelivery.Number([UpdateFactory.Message(chat, 1, new FakeUser(1, "A"), UpdateFactory.BaseDate, "still here")], firstId: 8).Single();

        Assert.Equal(HttpStatusCode.OK, await telegram.PostAsync("<html>not an update</html>"u8.ToArray(), Secret, "text/html"));
        Assert.Equal(HttpStatusCode.OK, await telegram.PostAsync(oversized, Secret));
        Assert.Equal(HttpStatusCode.OK, await telegram.PostAsync("{\"message\":{\"message_id\":1}}"u8.ToArray(), Secret));
        Assert.Equal(HttpStatusCode.OK, await telegram.PostAsync(valid, Secret));
        await RecordedAsync(1);

        var errors = await _db.ScalarAsync<string>("SELECT string_agg(error, ' | ' ORDER BY id) FROM dead_letters");
        Assert.Contains("not a JSON object", errors);
        Assert.Contains("exceeds 4096 bytes", errors);
        Assert.Contains("no update_id", errors);
        Assert.Contains("<html>not an update</html>", await _db.ScalarAsync<string>("SELECT string_agg(payload, ' ') FROM dead_letters"));
        Assert.Equal("still here", await _db.ScalarAsync<string>("SELECT text FROM messages"));
    }

    [Fact]
    public async Task AMigrationAndAnEditArrivingOutOfOrderAreStillFollowed()
    {
        var group = new FakeChat(-4_200, "Small", "group");
        var super = new FakeChat(-100_4200, "Small");
        var ann = new FakeUser(801, "Ann");
        var bodies = WebhookDelivery.Number([
            UpdateFactory.Message(group, 1, ann, UpdateFactory.BaseDate, "one"),
            UpdateFactory.Service(group, 2, ann, UpdateFactory.BaseDate + 10, "migrate_to_chat_id", System.Text.Json.Nodes.JsonValue.Create(super.Id)),
            UpdateFactory.Message(super, 1, ann, UpdateFactory.BaseDate + 20, "first in the supergroup"),
            UpdateFactory.Edited(group, 1, ann, UpdateFactory.BaseDate, UpdateFactory.BaseDate + 30, "one, edited twice over"),
        ]);
        await using var bot = await StartAsync();
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret, concurrency: 1);

        // Newest first, each committed (and recorded) before the next arrives: the worst order there is.
        foreach (var body in bodies.Reverse())
        {
            await telegram.DeliverAllAsync([body]);
            await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM update_inbox") == 0, "the delivery recorded");
        }

        Assert.Equal("-1:one, edited twice over|1:first in the supergroup",
            await _db.ScalarAsync<string>($"SELECT string_agg(message_id || ':' || text, '|' ORDER BY message_id) FROM messages WHERE chat_id = {super.Id}"));
        Assert.Equal(0, await _db.ScalarAsync<long>($"SELECT count(*) FROM messages WHERE chat_id = {group.Id}"));
        Assert.Equal(super.Id, await _db.ScalarAsync<long>($"SELECT migrated_to_chat_id FROM chats WHERE id = {group.Id}"));
        Assert.Equal(2, await _db.ScalarAsync<long>($"SELECT sum(messages) FROM chat_user_hourly WHERE chat_id = {super.Id}"));
        Assert.Equal(8, await _db.ScalarAsync<long>($"SELECT sum(words) FROM chat_user_hourly WHERE chat_id = {super.Id}"));
    }

    [Fact]
    public async Task ADatabaseOutageIsAnswered503AndTheRetriesLoseNothing()
    {
        var traffic = Traffic.Generate(2_000, seed: 23);
        var bodies = WebhookDelivery.Number(traffic.Updates);
        var builder = new NpgsqlConnectionStringBuilder(_db.ConnectionString);
        await using var proxy = new TcpProxy(builder.Host!, builder.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        await using var bot = await StartAsync(connectionString: viaProxy);
        using var telegram = new WebhookDelivery(bot.WebUrl + HookPath, Secret, concurrency: 20);

        await telegram.DeliverAllAsync(bodies[..1_000]);
        proxy.Cut();
        var refused = await telegram.PostAsync(bodies[1_000], Secret);
        var rest = telegram.DeliverAllAsync(bodies[1_000..], TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(() => Task.FromResult(telegram.Retries >= 20), "deliveries refused during the outage");
        proxy.Restore();
        await rest;
        await RecordedAsync(traffic.MessageRows);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused);
        await _db.AssertRecordedExactlyAsync(traffic);
    }

    [Fact]
    public async Task SwitchingBackToPollingRemovesTheWebhook()
    {
        var chat = new FakeChat(-100_31, "g");
        await using (var webhook = await StartAsync())
        {
            await Eventually.TrueAsync(() => Task.FromResult(_api.Webhook is not null), "setWebhook");
        }

        var id = _api.AddUpdate(UpdateFactory.Message(chat, 1, new FakeUser(1, "A"), UpdateFactory.BaseDate, "polled"));
        await using var polling = await BotHarness.StartAsync(_api, _db.ConnectionString);
        await _api.WaitUntilConfirmedAsync(id - 1, BotHarness.Patience);
        await RecordedAsync(1);

        Assert.Null(_api.Webhook);
        Assert.Equal("polled", await _db.ScalarAsync<string>("SELECT text FROM messages"));
    }

    [Fact]
    public async Task AWebProcessKilledBetweenInsertAndReplyLosesAndDoublesNothing()
    {
        var traffic = Traffic.Generate(6_000, seed: 29);
        var bodies = WebhookDelivery.Number(traffic.Updates);
        var port = Tools.FreePort();
        using var telegram = new WebhookDelivery($"http://127.0.0.1:{port}{HookPath}", Secret, concurrency: 40);

        // The web role as its own process, as deployed; SIGKILLed mid-stream, with deliveries in flight, then started again.
        var web = StartWebProcess(port);
        try
        {
            var delivering = telegram.DeliverAllAsync(bodies, TimeSpan.FromMinutes(3));
            await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT coalesce(sum(update_count), 0) FROM update_inbox") >= 2_000, "a third stored");
            web.Kill(entireProcessTree: true);
            await web.WaitForExitAsync();
            await Eventually.TrueAsync(() => Task.FromResult(telegram.Retries > 0), "deliveries refused while the web role is down");
            web.Dispose();
            web = StartWebProcess(port);
            await delivering;
        }
        finally
        {
            web.Kill(entireProcessTree: true);
            web.Dispose();
        }

        // Now a bot records what the web role received (and stored more than once where a reply was lost).
        var stored = await _db.ScalarAsync<long>("SELECT sum(update_count) FROM update_inbox");
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString, settings: WebhookSettings());
        await RecordedAsync(traffic.MessageRows);

        Assert.True(stored >= bodies.Length, $"every update answered 200 is in the inbox ({stored} of {bodies.Length})");
        await _db.AssertRecordedExactlyAsync(traffic);
    }

    private Process StartWebProcess(int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "chatstats.dll"));
        start.ArgumentList.Add("web");
        start.Environment.Remove("DATABASE_URL");
        start.Environment["Database__ConnectionString"] = _db.ConnectionString;
        start.Environment["Web__Urls"] = $"http://127.0.0.1:{port}";
        start.Environment["TELEGRAM_BOT_TOKEN"] = FakeBotApi.Token;
        start.Environment["TELEGRAM_API_BASE_URL"] = _api.BaseUrl;
        start.Environment["TELEGRAM_MODE"] = "webhook";
        start.Environment["TELEGRAM_WEBHOOK_URL"] = $"https://stats.example.test{HookPath}";
        start.Environment["TELEGRAM_WEBHOOK_SECRET"] = Secret;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
