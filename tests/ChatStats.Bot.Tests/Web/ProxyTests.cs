using System.Net;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Web;

/// <summary>
/// The web role behind a reverse proxy on the same host, the usual deployment: every request arrives from loopback, so
/// "local" must not mean "came through the proxy". Each admin surface is tried through a real proxy hop, with and
/// without a token, and with the proxy configured as known (Web:KnownProxies) or not.
/// </summary>
public sealed class ProxyTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-for-proxy-tests-0123";
    private const string Internet = "203.0.113.9";
    private readonly PostgresDatabase _db = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly List<IAsyncDisposable> _running = [];
    private FakeBotApi _api = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var running in Enumerable.Reverse(_running))
        {
            await running.DisposeAsync();
        }
        _http.Dispose();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private async Task<string> StartWebAsync(Dictionary<string, string?> settings)
    {
        var harness = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true, settings: settings);
        _running.Add(harness);
        return harness.WebUrl;
    }

    private async Task RecordChatAsync()
    {
        _api.AddUpdate(UpdateFactory.Message(new FakeChat(-100_500, "Behind a proxy", "supergroup"), 1, new FakeUser(1, "Ann"), UpdateFactory.BaseDate));
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id = -100500") == 1, "the chat to be recorded");
    }

    private async Task<string> ProxyAsync(string upstream, string client)
    {
        var proxy = await ForwardingProxy.StartAsync(upstream, client);
        _running.Add(proxy);
        return proxy.Url;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? token = null, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }
        if (method == HttpMethod.Put)
        {
            request.Content = System.Net.Http.Json.JsonContent.Create(new { tier = "premium" });
        }
        return await _http.SendAsync(request);
    }

    /// <summary>The admin surfaces: the API (read and write), Hangfire's dashboard, and where the old dashboard was.</summary>
    private static IEnumerable<(HttpMethod Method, string Path)> AdminSurfaces() =>
    [
        (HttpMethod.Get, "/api/admin/capacity"),
        (HttpMethod.Put, "/api/admin/chats/-100500/tier"),
        (HttpMethod.Get, "/hangfire"),
        (HttpMethod.Get, "/hangfire/jobs/failed"),
    ];

    private static bool Refused(HttpResponseMessage response) =>
        response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
        || (response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location!.OriginalString.Contains("/admin/login", StringComparison.Ordinal));

    [Fact]
    public async Task WithoutATokenTheAdminSurfacesAnswerLoopbackButNothingThatCameThroughTheProxy()
    {
        var web = await StartWebAsync(new() { ["Web:AdminToken"] = null });
        var proxy = await ProxyAsync(web, Internet);
        await RecordChatAsync();

        foreach (var (method, path) in AdminSurfaces())
        {
            var proxied = await SendAsync(method, proxy + path);
            var spoofed = await SendAsync(method, web + path, forwardedFor: "127.0.0.1");
            var direct = await SendAsync(method, web + path);

            Assert.True(direct.IsSuccessStatusCode, $"{method} {path} from loopback: {direct.StatusCode}");
            Assert.True(Refused(proxied), $"{method} {path} through the proxy: {proxied.StatusCode}");
            // A forwarding header is never local, whatever address it names.
            Assert.True(Refused(spoofed), $"{method} {path} from loopback with X-Forwarded-For: {spoofed.StatusCode}");
        }
        var api = await SendAsync(HttpMethod.Get, proxy + "/api/admin/capacity");
        Assert.Contains("local callers only (not through a proxy) until Web:AdminToken is set", await api.Content.ReadAsStringAsync());
        var jobs = await SendAsync(HttpMethod.Get, proxy + "/jobs");
        Assert.Equal("/hangfire", jobs.Headers.Location!.OriginalString);
        Assert.True(Refused(await SendAsync(HttpMethod.Get, proxy + "/hangfire")));
        // Only the loopback PUT, the last one, went through.
        Assert.Equal("PREMIUM", await _db.ScalarAsync<string>("SELECT tier FROM chats WHERE id = -100500"));
    }

    [Fact]
    public async Task WithATokenEverySurfaceWantsItThroughTheProxyAndFromLoopbackAlike()
    {
        var web = await StartWebAsync(new() { ["Web:AdminToken"] = AdminToken, ["Web:KnownProxies:0"] = "127.0.0.1" });
        var proxy = await ProxyAsync(web, Internet);
        await RecordChatAsync();

        foreach (var (method, path) in AdminSurfaces().Where(s => s.Path.StartsWith("/api/", StringComparison.Ordinal)))
        {
            Assert.True(Refused(await SendAsync(method, web + path)), $"{method} {path} from loopback without the token");
            Assert.True(Refused(await SendAsync(method, proxy + path)), $"{method} {path} through the proxy without the token");
            Assert.True((await SendAsync(method, proxy + path, token: AdminToken)).IsSuccessStatusCode, $"{method} {path} through the proxy with the token");
        }
        var dashboard = await SendAsync(HttpMethod.Get, proxy + "/hangfire");
        Assert.Equal(HttpStatusCode.Redirect, dashboard.StatusCode);
        Assert.StartsWith("/admin/login?ReturnUrl=%2Fhangfire", new Uri(dashboard.Headers.Location!.OriginalString, UriKind.RelativeOrAbsolute) is { IsAbsoluteUri: true } absolute
            ? absolute.PathAndQuery : dashboard.Headers.Location!.OriginalString);
        Assert.True(Refused(await SendAsync(HttpMethod.Get, web + "/hangfire")), "the dashboard from loopback without signing in");
        Assert.Equal("PREMIUM", await _db.ScalarAsync<string>("SELECT tier FROM chats WHERE id = -100500"));
    }

    [Fact]
    public async Task AKnownProxyGivesTheApiLimiterEachClientsAddressAndAnUnknownOneDoesNot()
    {
        var settings = new Dictionary<string, string?> { ["Web:AnonymousPerMinute"] = "2", ["Web:KnownProxies:0"] = "127.0.0.1" };
        var known = await StartWebAsync(settings);
        var first = await ProxyAsync(known, "203.0.113.9");
        var second = await ProxyAsync(known, "203.0.113.10");

        var firstClient = await Statuses(first, 3);
        var secondClient = await Statuses(second, 2);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], firstClient);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], secondClient);
        // The known proxy's client is applied as the caller, and it is still not local: no admin for it.
        var another = await ProxyAsync(known, "203.0.113.20");
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Get, another + "/api/admin/capacity")).StatusCode);

        await _running[0].DisposeAsync();
        _running.RemoveAt(0);
        // (its proxies stay up, pointing at nothing; they go at the end)
        settings.Remove("Web:KnownProxies:0");
        var unknown = await StartWebAsync(settings);
        var third = await ProxyAsync(unknown, "203.0.113.11");
        var fourth = await ProxyAsync(unknown, "203.0.113.12");

        // Not trusted: every client behind it is the proxy's one address, and shares its minute.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], await Statuses(third, 2));
        Assert.Equal([HttpStatusCode.TooManyRequests], await Statuses(fourth, 1));
        // Nor can a client that names another address in X-Forwarded-For get a fresh minute for itself.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SendAsync(HttpMethod.Get, unknown + "/api/status", forwardedFor: "198.51.100.7")).StatusCode);
    }

    private async Task<List<HttpStatusCode>> Statuses(string baseUrl, int count)
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            statuses.Add((await SendAsync(HttpMethod.Get, baseUrl + "/api/status")).StatusCode);
        }
        return statuses;
    }
}
