using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatStats.Testing;
using Microsoft.AspNetCore.Builder;
using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Tests.Web;

/// <summary>/api through the real web role: per-caller limits with X-RateLimit headers, JSON errors, admin endpoints.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private const string PremiumKey = "premium-key-0123456789abcdef";
    private const string AdminToken = "admin-token-for-tests-0123456789";
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

    private Task<BotHarness> StartAsync(string? adminToken = null) => BotHarness.StartAsync(_api, _db.ConnectionString, web: true, settings: new Dictionary<string, string?>
    {
        [$"Web:ApiKeys:{PremiumKey}"] = "premium",
        ["Web:AnonymousPerMinute"] = "5",
        ["Web:AdminToken"] = adminToken,
    });

    private static string UrlOf(BotHarness harness) => ((WebApplication)harness.Host).Urls.First();

    private static string Header(HttpResponseMessage response, string name) => string.Join(",", response.Headers.GetValues(name));

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task AnonymousCallersGetTheirMinuteThenAJson429WithRetryAfter()
    {
        await using var run = await StartAsync();
        var url = UrlOf(run);

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await _http.GetAsync($"{url}/api/status"));
        }

        Assert.All(answers.Take(5), a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.All(answers, a => Assert.Equal("5", Header(a, "X-RateLimit-Limit")));
        Assert.Equal(["4", "3", "2", "1", "0", "0"], answers.Select(a => Header(a, "X-RateLimit-Remaining")));
        var reset = long.Parse(Header(answers[4], "X-RateLimit-Reset"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(reset - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 50, 61);

        var refused = answers[5];
        var body = await JsonOf(refused);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = int.Parse(Header(refused, "Retry-After"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 12);
        Assert.Equal(429, body.GetProperty("status").GetInt32());
        Assert.Equal("too_many_requests", body.GetProperty("error").GetString());
        Assert.Equal(retryAfter, body.GetProperty("retry_after").GetInt32());
        Assert.Contains("5 requests per minute", body.GetProperty("message").GetString());

        // Health and metrics are not the API: never limited, no headers.
        var live = await _http.GetAsync($"{url}/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.False(live.Headers.Contains("X-RateLimit-Limit"));
    }

    [Fact]
    public async Task AnApiKeyIsLimitedByItsTierAndAnUnknownKeyIsRefused()
    {
        await using var run = await StartAsync();
        var url = UrlOf(run);

        using var premium = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/status") { Headers = { { "X-API-Key", PremiumKey } } };
        var ok = await _http.SendAsync(premium);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/status") { Headers = { { "X-API-Key", "not-a-key-we-know-0000" } } };
        var refused = await _http.SendAsync(wrong);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("500", Header(ok, "X-RateLimit-Limit"));
        Assert.Equal("49", Header(ok, "X-RateLimit-Remaining")); // the PREMIUM burst of 50, less this request
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("invalid_api_key", (await JsonOf(refused)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task AdminEndpointsWantTheTokenWhenOneIsSet()
    {
        await using var run = await StartAsync(AdminToken);
        var url = UrlOf(run);

        var without = await _http.GetAsync($"{url}/api/admin/capacity");
        using var bearer = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/admin/capacity") { Headers = { { "Authorization", $"Bearer {AdminToken}" } } };
        var with = await _http.SendAsync(bearer);
        using var header = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/admin/limits") { Headers = { { "X-Admin-Token", AdminToken } } };
        var limits = await _http.SendAsync(header);

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal("unauthorized", (await JsonOf(without)).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        Assert.Equal(HttpStatusCode.OK, limits.StatusCode);
    }

    [Fact]
    public async Task CapacityAndLimitsAnswerInTheGuidesShape()
    {
        await using var run = await StartAsync();
        var url = UrlOf(run);

        var capacity = await JsonOf(await _http.GetAsync($"{url}/api/admin/capacity"));
        var limits = await JsonOf(await _http.GetAsync($"{url}/api/admin/limits"));

        Assert.Equal(0, capacity.GetProperty("current").GetInt32());
        Assert.Equal(200, capacity.GetProperty("max").GetInt32());
        Assert.Equal(0, capacity.GetProperty("percent").GetDouble());
        Assert.Equal(200, capacity.GetProperty("available").GetInt32());
        Assert.Equal("LOW", capacity.GetProperty("status").GetString());
        Assert.True(capacity.GetProperty("can_accept_new").GetBoolean());

        Assert.Equal("live", limits.GetProperty("source").GetString());
        var instance = limits.GetProperty("instances")[0];
        var concurrency = instance.GetProperty("concurrency");
        Assert.Equal(3, concurrency.GetProperty("max_concurrent_per_user").GetInt32());
        Assert.Equal(500, concurrency.GetProperty("max_queue_global").GetInt32());
        Assert.Equal("drop_newest", concurrency.GetProperty("overload_policy").GetString());
        Assert.Equal("NORMAL", instance.GetProperty("load").GetProperty("level").GetString());
        Assert.Equal(["ai", "pdf"], instance.GetProperty("gates").EnumerateArray().Select(g => g.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task AChatsTierIsSetThroughTheAdminApi()
    {
        await using var run = await StartAsync();
        var url = UrlOf(run);
        _api.AddUpdate(UpdateFactory.Message(new FakeChat(-100_701, "Paying", "supergroup"), 1, new FakeUser(1, "Ann"), UpdateFactory.BaseDate));
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id = -100701") == 1, "the chat to be recorded");

        var set = await _http.PutAsJsonAsync($"{url}/api/admin/chats/-100701/tier", new { tier = "premium" });
        var read = await JsonOf(await _http.GetAsync($"{url}/api/admin/chats/-100701/tier"));
        var bad = await _http.PutAsJsonAsync($"{url}/api/admin/chats/-100701/tier", new { tier = "gold" });
        var unknown = await _http.PutAsJsonAsync($"{url}/api/admin/chats/-5/tier", new { tier = "FREE" });

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("PREMIUM", read.GetProperty("effective").GetString());
        Assert.Equal("PREMIUM", await _db.ScalarAsync<string>("SELECT tier FROM chats WHERE id = -100701"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("'gold' is not a tier", (await JsonOf(bad)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task AWebOnlyProcessShowsTheLimitsTheBotProcessReports()
    {
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString);
        var host = AppHost.Build(new RoleSet(Bot: false, Web: true), [], new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = _db.ConnectionString,
            ["Web:Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await host.StartAsync();
        await using var web = BotHarness.Wrap(_api, host);

        JsonElement limits = default;
        await Eventually.TrueAsync(async () =>
        {
            var response = await _http.GetAsync($"{UrlOf(web)}/api/admin/limits");
            limits = await JsonOf(response);
            return response.StatusCode == HttpStatusCode.OK;
        }, "the bot's heartbeat to carry its limits");

        Assert.Equal("heartbeat", limits.GetProperty("source").GetString());
        Assert.Equal($"{System.Net.Dns.GetHostName()}:{Environment.ProcessId}", limits.GetProperty("instances")[0].GetProperty("instance").GetString());
    }
}
