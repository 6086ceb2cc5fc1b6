using System.Net;
using System.Text;
using ChatStats.Testing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Fuzz;

/// <summary>
/// The web role as a stranger could call it: every route with odd methods, paths and ids out of range, junk queries,
/// headers and keys, bodies that are not JSON, of the wrong shape, huge or not UTF-8, content types that lie. Every
/// answer is a 4xx saying what was wrong (JSON on /api), or a success; never a 5xx, never a stack trace; and nothing
/// stored changes.
/// </summary>
public sealed class ApiFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string AdminToken = "fuzz-admin-token-0123456789abcdef";
    private const long KnownChat = -100_4242;
    private readonly PostgresDatabase _db = new();
    private readonly LogLines _logs = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 }) { Timeout = TimeSpan.FromSeconds(30) };
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

    private static readonly string[] Routes =
    [
        "/api/status", "/api/admin/capacity", "/api/admin/limits", "/api/admin/stats", "/api/admin/health", "/api/admin/chats/{id}/tier",
        "/health/live", "/health/ready", "/metrics", "/admin", "/admin/login", "/admin/logout", "/hangfire", "/jobs/{id}", "/api/{id}", "/{id}",
    ];

    private static readonly string[] Ids =
    [
        "-1004242", "0", "-0", "1", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "abc", "1e5", "0x10", "%00", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..", "%ff%fe", "%E2%80%AE", "<script>", "' OR 1=1 --", "-1004242/../../api/admin/stats", "", " ",
    ];

    [Fact]
    public async Task EveryRouteAnswersHostileRequestsWithA4xxInWordsAndChangesNothing()
    {
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true, settings: new Dictionary<string, string?>
        {
            ["Web:AdminToken"] = AdminToken,
            ["Web:ApiKeys:fuzz-key-abcdef0123456789"] = "premium",
            // The anonymous limit would answer most cases 429 before they reached a handler.
            ["Web:AnonymousPerMinute"] = "1000000",
            ["Limits:Tiers:FREE:PerSecond"] = "100000",
            ["Limits:Tiers:FREE:Burst"] = "100000",
            ["Limits:Tiers:PREMIUM:PerSecond"] = "100000",
            ["Limits:Tiers:PREMIUM:Burst"] = "100000",
        }, services: s => s.AddLogging(b => b.AddProvider(_logs)));
        await _db.ExecuteAsync("INSERT INTO chats (id, type, title, is_forum, time_zone, store_text, settings, first_seen_at, updated_at) VALUES ($1, 'supergroup', 'Known', false, 'UTC', true, '{}', now(), now())", KnownChat);
        var before = await StoredAsync();
        var statuses = new Dictionary<int, int>();

        await Fuzz.RunAsync(output, "api", 400, async c =>
        {
            using var request = HostileRequest(c, bot.WebUrl);
            c.Input = $"{request.Method} {request.RequestUri} {string.Join("; ", request.Headers.Select(h => $"{h.Key}: {Fuzz.Shorten(string.Join(",", h.Value), 80)}"))}";
            if (request.Content is not null)
            {
                c.Input += $" body {Fuzz.Shorten(Encoding.UTF8.GetString(await request.Content.ReadAsByteArrayAsync()), 300)}";
            }
            using var response = await _http.SendAsync(request);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var body = await response.Content.ReadAsStringAsync();
            Fuzz.AssertNoInternals(body, $"the answer ({status})");
            // 503 only where it is the documented answer: no bot reported yet, or a check failing.
            Assert.True(status < 500 || (status == 503 && request.RequestUri!.AbsolutePath is "/api/admin/limits" or "/api/admin/health" or "/health/ready"),
                $"answered {status}: {Fuzz.Shorten(body, 400)}");
            // Kestrel itself refuses a NUL in the path (400), a request line over 8 KB (414) and oversized headers (431)
            // before any of ChatStats runs: its bare answer is all there is.
            if (status >= 400 && status is not (414 or 431) && request.RequestUri!.AbsolutePath.StartsWith("/api/", StringComparison.Ordinal)
                && request.Method != HttpMethod.Head && !request.RequestUri.AbsolutePath.Contains("%00", StringComparison.Ordinal))
            {
                // An API caller is told what was wrong, in the API's JSON.
                Assert.True(body.StartsWith('{') && body.Contains("\"error\"", StringComparison.Ordinal) && body.Contains("\"message\"", StringComparison.Ordinal),
                    $"answered {status} without a JSON error: '{Fuzz.Shorten(body, 300)}'");
            }
        });

        Assert.Equal(before, await StoredAsync());
        Fuzz.AssertNoErrorsLogged(_logs);
        output.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
    }

    private Task<string> StoredAsync() => _db.ScalarAsync<string>("SELECT coalesce(string_agg(concat_ws('|', id, tier, title, settings), E'\\n' ORDER BY id), '') FROM chats");

    private static HttpRequestMessage HostileRequest(FuzzCase c, string baseUrl)
    {
        var route = c.Pick(Routes).Replace("{id}", c.Chance(0.3) ? KnownChat.ToString(System.Globalization.CultureInfo.InvariantCulture) : c.Pick(Ids), StringComparison.Ordinal);
        if (c.Chance(0.1))
        {
            route += "/" + new string('a', c.Random.Next(100, 8_000));
        }
        if (c.Chance(0.3))
        {
            route += "?" + c.Pick(new[] { "returnUrl=https://evil.example", "returnUrl=//evil.example", "x=%00", "a=" + new string('b', 3_000), "chatId=-1&chatId=2", "%ff=%fe", "format=xml" });
        }
        var method = c.Pick(new[] { HttpMethod.Get, HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options, HttpMethod.Head, new HttpMethod("PROPFIND") });
        var request = new HttpRequestMessage(method, baseUrl + route);
        switch (c.Random.Next(5))
        {
            case 0:
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + AdminToken);
                break;
            case 1:
                request.Headers.TryAddWithoutValidation("Authorization", c.Pick(new[] { "Bearer", "Bearer " + new string('x', 5_000), "Basic Zm9vOmJhcg==", "Bearer \u00e9", "Bearer " + AdminToken + "x" }));
                break;
            case 2:
                request.Headers.TryAddWithoutValidation("X-API-Key", c.Pick(new[] { "nope", "", new string('k', 3_000), "fuzz-key-abcdef0123456789", "fuzz-key-abcdef0123456789 " }));
                break;
            case 3:
                request.Headers.TryAddWithoutValidation("X-Admin-Token", c.Pick(new[] { AdminToken, "", "\u0001" }));
                break;
        }
        if (c.Chance(0.05))
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", c.Pick(new[] { "127.0.0.1", "::1, 10.0.0.1", "not an address" }));
        }
        if (method != HttpMethod.Get && method != HttpMethod.Head && c.Chance(0.8))
        {
            byte[] body = c.Random.Next(9) switch
            {
                0 => "{\"tier\": \"platinum\"}"u8.ToArray(),
                1 => Encoding.UTF8.GetBytes($"{{\"tier\": {c.Pick(new[] { "5", "null", "[]", "{}", "true", "\"\"", "\"\\u0000\"", "\"" + new string('t', 10_000) + "\"" })}}}"),
                2 => "{\"tier\": \"premium\""u8.ToArray(),
                3 => Encoding.UTF8.GetBytes(new string('[', 10_000)),
                4 => [0xC3, 0x28, 0xFF, 0x7B],
                5 => Encoding.UTF8.GetBytes("token=" + Uri.EscapeDataString(c.Pick(new[] { AdminToken + "x", "", "\u202e" })) + "&returnUrl=" + Uri.EscapeDataString(c.Pick(new[] { "https://evil.example", "//evil.example", "/admin" }))),
                6 => new byte[c.Chance(0.5) ? 2_000_000 : 70_000],
                7 => "{\"tier\": \"premium\", \"tier\": \"gold\"}"u8.ToArray(),
                _ => Encoding.UTF8.GetBytes(c.Pick(JsonMutator.HostileStrings).Replace(JsonMutator.InvalidUtf8Marker, "x", StringComparison.Ordinal).Replace(JsonMutator.LoneSurrogateMarker, "y", StringComparison.Ordinal)),
            };
            request.Content = new ByteArrayContent(body);
            var type = c.Pick(new[] { "application/json", "application/json; charset=latin1", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zzz", "application/xml", "", "garbage" });
            if (type.Length > 0)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
        }
        return request;
    }
}
