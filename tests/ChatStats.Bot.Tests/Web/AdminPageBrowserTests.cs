using System.Net.Http.Headers;
using System.Text.Json;
using ChatStats.Testing;
using PuppeteerSharp;

namespace ChatStats.Bot.Tests.Web;

/// <summary>
/// /admin as an operator sees it, in Debian's chromium: signing in, capacity, health, load level, queues, gates and
/// the most limited users and chats with real numbers from a running bot, refreshing by itself; and the JSON behind it.
/// </summary>
public sealed class AdminPageBrowserTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-for-the-admin-page-01";
    private static FakeChat Chat(int i) => new(-100_9960 - i, $"Flooded chat {i}");
    private static readonly FakeUser Flooder = new(996, "Fiona", Username: "fiona_floods");
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true, worker: true, settings: new Dictionary<string, string?>
        {
            ["Web:AdminToken"] = AdminToken,
            ["Limits:CommandsPerUser"] = "2",
            ["Limits:MaxActiveChats"] = "40",
        });
        _browser = await Chromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static Task<string> TextAsync(IPage page) => page.EvaluateExpressionAsync<string>("document.body.innerText");

    [Fact]
    public async Task AnOperatorSeesCapacityLimitersAndTheMostLimitedUserWithRealNumbersRefreshingEveryFiveSeconds()
    {
        // Seven questions in a minute, in seven groups, against a limit of two a person: five refused.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _api.AddUpdates([.. Enumerable.Range(1, 7).Select(i => UpdateFactory.Message(Chat(i), i, Flooder, now - 7 + i, "/stats"))]);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        // In process, not by polling /api (rate limited): the five refusals counted, the seven groups recorded.
        var limiters = _bot.Get<ChatStats.Bot.Throttling.CommandLimiters>();
        await Eventually.TrueAsync(async () => limiters.RefusedUsers.Top(1) is [{ Value: 5 }]
            && await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id BETWEEN -1009967 AND -1009961") == 7, "the refusals and the seven groups");
        await _bot.Get<ChatStats.Bot.Throttling.CapacityMonitor>().RefreshAsync(CancellationToken.None);
        var stats = JsonDocument.Parse(await http.GetStringAsync($"{_bot.WebUrl}/api/admin/stats")).RootElement;
        Assert.Equal(5, stats.GetProperty("most_limited_users")[0].GetProperty("refusals").GetInt32());
        Assert.Equal(7, stats.GetProperty("capacity").GetProperty("current").GetInt32());

        await using var page = await _browser.NewPageAsync();
        await page.GoToAsync($"{_bot.WebUrl}/admin");
        Assert.StartsWith($"{_bot.WebUrl}/admin/login", page.Url);
        await page.TypeAsync("input[name=token]", AdminToken);
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("button[type=submit]"));
        Assert.Equal($"{_bot.WebUrl}/admin", page.Url);

        var text = await TextAsync(page);
        var directory = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots"));
        await File.WriteAllTextAsync(Path.Combine(directory.FullName, "admin.txt"), text);
        Assert.Contains("7 / 40", text);
        Assert.Contains("LOW · 17.5% used", text);
        Assert.Contains("33 slots free", text);
        Assert.Contains("new groups accepted", text);
        Assert.Contains("Load NORMAL", text);
        Assert.Contains("Health: Healthy", text);
        Assert.Matches(@"ai\s+0\s+0\s+8", text);
        Assert.Matches(@"Fiona @fiona_floods 996\s+5", text);
        Assert.Matches(@"Flooded chat \d -10099\d\d\s+1\n", text);
        Assert.Matches(@"servers\s+[1-9]", text);
        var screenshot = Path.Combine(directory.FullName, "admin.png");
        await page.ScreenshotAsync(screenshot, new ScreenshotOptions { FullPage = true });
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.True(png.Length > 20_000, $"a {png.Length}-byte screenshot is too small to show the page");

        // The page refreshes by itself and shows what changed meanwhile.
        _api.AddUpdates([UpdateFactory.Message(Chat(8), 8, Flooder, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), "/top")]);
        await page.WaitForNavigationAsync(new NavigationOptions { Timeout = 15_000 });
        await Eventually.TrueAsync(async () =>
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(await TextAsync(page), @"fiona_floods 996\s+6"))
            {
                await page.WaitForNavigationAsync(new NavigationOptions { Timeout = 15_000 });
                return false;
            }
            return true;
        }, "the page to show the sixth refusal");

        // For an uptime monitor: 200 with the capacity while the service works.
        var health = await http.GetAsync($"{_bot.WebUrl}/api/admin/health");
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal(40, body.GetProperty("capacity").GetProperty("max").GetInt32());
    }
}
