using ChatStats.Bot.Tests.Jobs;
using ChatStats.Testing;
using PuppeteerSharp;

namespace ChatStats.Bot.Tests.Web;

/// <summary>
/// Hangfire's dashboard as an operator uses it, in Debian's chromium (headless, installed by deploy/dev.sh): signing in
/// with the admin token, finding a failed report, requeueing it once weasyprint works again, and seeing it succeed.
/// </summary>
public sealed class DashboardBrowserTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-for-the-browser-0123";
    private static readonly FakeChat Chat = new(-100_995, "Dashboard chat");
    private readonly PostgresDatabase _db = new();
    private readonly FakeWeasyprint _weasyprint = new();
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
            ["Reports:Weasyprint"] = _weasyprint.Path,
            ["Jobs:QueuePollIntervalMilliseconds"] = "100",
            ["Jobs:Queues:reports:MaxAttempts"] = "1",
        });
        _browser = await Chromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        _weasyprint.Dispose();
        await _db.DisposeAsync();
    }

    private Task<string?> ReportStateAsync() =>
        _db.ScalarAsync<string?>("SELECT statename FROM hangfire.job WHERE invocationdata::text LIKE '%ReportJob%' ORDER BY id LIMIT 1");

    private static Task<string> TextAsync(IPage page) => page.EvaluateExpressionAsync<string>("document.body.innerText");

    [Fact]
    public async Task AnOperatorSignsInFindsTheFailedReportRequeuesItAndSeesItSucceed()
    {
        _weasyprint.Fail("fake weasyprint: no fonts");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _api.AddUpdates([
            UpdateFactory.Message(Chat, 1, new FakeUser(995, "Ann"), now - 60, "hello"),
            UpdateFactory.Message(Chat, 2, new FakeUser(995, "Ann", LanguageCode: "en"), now, "/report 7d"),
        ]);
        await Eventually.TrueAsync(async () => await ReportStateAsync() == "Failed", "the report to fail");
        var web = _bot.WebUrl;
        await using var page = await _browser.NewPageAsync();

        // Not signed in: the dashboard sends the browser to the sign-in page, which brings it back.
        await page.GoToAsync($"{web}/hangfire");
        Assert.StartsWith($"{web}/admin/login", page.Url);
        await page.TypeAsync("input[name=token]", "not-the-token");
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("button[type=submit]"));
        Assert.Contains("That is not the admin token.", await TextAsync(page));
        await page.TypeAsync("input[name=token]", AdminToken);
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("button[type=submit]"));
        Assert.Equal($"{web}/hangfire", page.Url.TrimEnd('/'));
        Assert.Contains("ChatStats jobs", await TextAsync(page));
        var cookies = await page.GetCookiesAsync();
        Assert.DoesNotContain(cookies, c => c.Value.Contains(AdminToken, StringComparison.Ordinal));
        Assert.Contains(cookies, c => c.Name == "chatstats_admin" && c.HttpOnly == true);

        // The failed report, with the reason it failed.
        await page.GoToAsync($"{web}/hangfire/jobs/failed");
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("a[href*='/hangfire/jobs/details/']"));
        var details = await TextAsync(page);
        Assert.Contains("ReportJob", details);
        Assert.Contains("weasyprint exited with 1: fake weasyprint: no fonts", details);

        // weasyprint is fixed; the operator requeues the job from its page (a POST with Hangfire's antiforgery token).
        File.Delete(Path.Combine(_weasyprint.Directory, "fail"));
        await page.ClickAsync("button[data-ajax*='/requeue/']");
        await Eventually.TrueAsync(async () => await ReportStateAsync() == "Succeeded", "the requeued report to succeed");
        // Hangfire's script reloads the page itself once the requeue is answered; on a busy machine that reload can
        // still be on its way, and reloading from here then finds the page detached. A second tab (the same sign-in
        // cookie) reads the job's page without racing it.
        await using var again = await _browser.NewPageAsync();
        await again.GoToAsync(page.Url);

        Assert.Contains("Succeeded", await TextAsync(again));
        var document = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Method == "sendDocument", 1, BotHarness.Patience);
        Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString(document[0].File![..5]));

        // Both attempts on /metrics: counted by queue and outcome, timed, and the storage's counts by state.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"{web}/metrics");
        Assert.Contains("chatstats_jobs_finished_total{outcome=\"failed\",queue=\"reports\"} 1", metrics);
        Assert.Contains("chatstats_jobs_finished_total{outcome=\"succeeded\",queue=\"reports\"} 1", metrics);
        Assert.Contains("chatstats_jobs_duration_seconds_count{outcome=\"succeeded\",queue=\"reports\"} 1", metrics);
        // The requeued attempt is a first attempt again (no retry counted), so it is timed from creation too.
        Assert.Contains("chatstats_jobs_start_delay_seconds_count{queue=\"reports\"} 2", metrics);
        Assert.Matches("chatstats_jobs_stored\\{queue=\"all\",state=\"succeeded\"\\} [1-9]", metrics);
        Assert.Matches("chatstats_jobs_servers [2-9]", metrics);
    }
}
