using System.Net;
using System.Text.Json;
using ChatStats.Testing;
using Microsoft.AspNetCore.Builder;
using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Tests.Web;

public sealed class HealthAndMetricsTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    private readonly HttpClient _http = new();
    private FakeBotApi _api = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static string UrlOf(BotHarness harness) => ((WebApplication)harness.Host).Urls.First();

    [Fact]
    public async Task LiveAndReadyAnswerWhenEverythingIsUp()
    {
        await using var run = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true);
        var url = UrlOf(run);

        var live = await _http.GetAsync($"{url}/health/live");
        JsonElement ready = default;
        await Eventually.TrueAsync(async () =>
        {
            var response = await _http.GetAsync($"{url}/health/ready");
            ready = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return response.StatusCode == HttpStatusCode.OK;
        }, "ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var checks = ready.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("ok").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["database"] = true, ["migrations"] = true, ["poller"] = true, ["inbox"] = true, ["ai"] = true }, checks);
    }

    [Fact]
    public async Task AWebRoleStartedWhileTheDatabaseIsDownAnswersAndSaysWhyItIsNotReady()
    {
        var down = new Npgsql.NpgsqlConnectionStringBuilder(_db.ConnectionString) { Port = 1, Timeout = 2 }.ConnectionString;
        await using var web = await StartWebOnlyAsync(down);
        var url = UrlOf(web);

        var live = await _http.GetAsync($"{url}/health/live");
        var ready = await _http.GetAsync($"{url}/health/ready");
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("ok").GetBoolean());

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.False(checks["database"]);
    }

    [Fact]
    public async Task ReadyIsUnavailableAndSaysWhyWhenMigrationsArePending()
    {
        var empty = await PostgresServer.CreateEmptyDatabaseAsync("pending");
        try
        {
            await using var web = await StartWebOnlyAsync(empty);

            var response = await _http.GetAsync($"{UrlOf(web)}/health/ready");
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("pending: run 'chatstats migrate'", body);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(empty);
        }
    }

    [Fact]
    public async Task ReadyFailsWhenReceivedUpdatesAreNotBeingRecorded()
    {
        await _db.ExecuteAsync("""
            INSERT INTO update_inbox (first_update_id, last_update_id, update_count, payload, received_at)
            VALUES (1, 3, 3, '\x5b5d', now() - interval '10 minutes')
            """);
        await using var web = await StartWebOnlyAsync(_db.ConnectionString);

        var response = await _http.GetAsync($"{UrlOf(web)}/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Matches(@"3 updates waiting, oldest 6\d\d s: recording is stuck", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AWebProcessReportsTheBotProcessesPollerFromItsHeartbeat()
    {
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString);
        await using var web = await StartWebOnlyAsync(_db.ConnectionString);

        string body = "";
        await Eventually.TrueAsync(async () =>
        {
            body = await _http.GetStringAsync($"{UrlOf(web)}/health/ready");
            return body.Contains("\"poller\"", StringComparison.Ordinal) && (body.Contains("Polling", StringComparison.Ordinal) || body.Contains("Handling", StringComparison.Ordinal));
        }, "the bot's heartbeat");

        Assert.Contains("\"ready\":true", body);
    }

    [Fact]
    public async Task MetricsExposeIngestPollingAndPoolInstrumentsInPrometheusFormat()
    {
        await using var run = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true);
        var ids = _api.AddUpdates(Traffic.Generate(300, seed: 9).Updates);
        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
        string text = "";
        // Counters are process-wide and tests share the process, so wait for at least this test's updates.
        await Eventually.TrueAsync(async () =>
        {
            text = await _http.GetStringAsync($"{UrlOf(run)}/metrics");
            return HandledTotal(text) >= 300;
        }, "ingest metrics");

        Assert.Contains("# TYPE chatstats_updates_handled_total counter", text);
        Assert.Contains("chatstats_updates_handled_total{kind=\"message\"}", text);
        Assert.Contains("chatstats_telegram_updates_received_total", text);
        Assert.Contains("chatstats_ingest_latency_seconds_bucket{le=\"0.1\"}", text);
        Assert.Contains("chatstats_telegram_batch_size_count", text);
        Assert.Contains("chatstats_ingest_messages_total", text);
        Assert.Contains("db_client_connection_max{db_client_connection_pool_name=\"chatstats\"} 10", text);
        Assert.Contains("chatstats_gates_capacity{gate=\"ai\"} 8", text);
        Assert.Contains("chatstats_limits_running 0", text);
        Assert.Contains("chatstats_sender_waiting ", text);
    }

    [Fact]
    public async Task MetricsPassPromtoolsChecks()
    {
        await using var run = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true);
        var ids = _api.AddUpdates(Traffic.Generate(50, seed: 11).Updates);
        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
        await Eventually.TrueAsync(async () => HandledTotal(await _http.GetStringAsync($"{UrlOf(run)}/metrics")) >= 50, "ingest metrics");

        var text = await _http.GetStringAsync($"{UrlOf(run)}/metrics");
        var check = await Tools.RunAsync(Tools.Find("prometheus", "promtool"), ["check", "metrics"], stdin: text);

        Assert.True(check.ExitCode == 0, check.ToString());
        // The process's own figures and the runtime's, for the memory alerts and the dashboard.
        Assert.Matches(@"\nprocess_working_set_bytes [1-9]", text);
        Assert.Contains("process_cpu_seconds_total ", text);
        Assert.Contains("dotnet_gc_heap_total_allocated_bytes_total ", text);
    }

    [Fact]
    public async Task ABotProcessWithoutTheWebRoleServesMetricsOnItsOwnPort()
    {
        var port = Tools.FreePort();
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString, settings: new Dictionary<string, string?>
        {
            ["Metrics:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Metrics:Host"] = "127.0.0.1",
        });
        var ids = _api.AddUpdates(Traffic.Generate(20, seed: 12).Updates);
        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);

        string text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await _http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            return HandledTotal(text) >= 20;
        }, "the bot's metrics");

        Assert.Contains("chatstats_telegram_poll_duration_seconds_bucket", text);
        Assert.Contains("chatstats_load_level ", text);
    }

    private static double HandledTotal(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("chatstats_updates_handled_total{", StringComparison.Ordinal))
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private async Task<BotHarness> StartWebOnlyAsync(string connectionString)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = connectionString,
            ["Web:Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var host = AppHost.Build(new RoleSet(Bot: false, Web: true), [], overrides);
        await host.StartAsync();
        return BotHarness.Wrap(_api, host);
    }
}
