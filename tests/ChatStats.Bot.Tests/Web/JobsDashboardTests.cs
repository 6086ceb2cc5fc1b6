using System.Net;
using System.Text.RegularExpressions;
using ChatStats.Jobs;
using ChatStats.Testing;
using Microsoft.AspNetCore.Builder;

namespace ChatStats.Bot.Tests.Web;

public sealed record FlakyArgs(string Label);

/// <summary>Fails while <see cref="Failing"/> is set.</summary>
public sealed class FlakyJob : IJob<FlakyArgs>
{
    private static volatile bool _failing = true;

    public static bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public Task RunAsync(FlakyArgs args, JobContext context) =>
        Failing ? throw new InvalidOperationException($"{args.Label}: the flaky dependency is down") : Task.CompletedTask;
}

/// <summary>The /jobs dashboard through the real web role: overview, a failed job, Retry, success; and its guards.</summary>
public sealed class JobsDashboardTests : IAsyncLifetime
{
    private const string Token = "dashboard-admin-token-0123456789";
    private readonly PostgresDatabase _db = new();
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
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

    private Task<BotHarness> StartAsync(string? token = null) => BotHarness.StartAsync(_api, _db.ConnectionString, web: true, worker: true,
        settings: new Dictionary<string, string?> { ["Web:AdminToken"] = token, ["Jobs:PollIntervalSeconds"] = "0.2" },
        services: s => s.AddJob<FlakyJob, FlakyArgs>("flaky"));

    private static string UrlOf(BotHarness harness) => ((WebApplication)harness.Host).Urls.First();

    private async Task<string> GetAsync(string url, string? cookie = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task AFailedJobIsFoundOnTheDashboardRetriedAndSucceeds()
    {
        FlakyJob.Failing = true;
        await using var run = await StartAsync();
        var url = UrlOf(run);
        var job = await run.Get<JobClient>().EnqueueAsync<FlakyJob, FlakyArgs>(new FlakyArgs("nightly export"), new EnqueueOptions { MaxAttempts = 1 });
        await Wait.UntilAsync(async () => await _db.ScalarAsync<string>("SELECT state FROM jobs.job WHERE id = $1", job.Id) == "dead", "the job to die");

        var overview = await GetAsync($"{url}/jobs");
        var dead = await GetAsync($"{url}/jobs/state/dead");
        var page = await GetAsync($"{url}/jobs/job/{job.Id}");
        var csrf = Regex.Match(page, "name=\"csrf\" value=\"([0-9A-F]+)\"").Groups[1].Value;

        Assert.Contains("<span>dead</span><b>1</b>", overview);
        Assert.Contains("<svg", overview);
        Assert.Contains($"href=\"/jobs/job/{job.Id}\"", dead);
        Assert.Contains("nightly export: the flaky dependency is down", page);
        Assert.Contains("at ChatStats.Bot.Tests.Web.FlakyJob.RunAsync", page);

        var forged = await _http.PostAsync($"{url}/jobs/job/{job.Id}/retry", new FormUrlEncodedContent([new("csrf", "00")]));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        using var crossSite = new HttpRequestMessage(HttpMethod.Post, $"{url}/jobs/job/{job.Id}/retry") { Content = new FormUrlEncodedContent([new("csrf", csrf)]) };
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.SendAsync(crossSite)).StatusCode);

        FlakyJob.Failing = false;
        var retry = await _http.PostAsync($"{url}/jobs/job/{job.Id}/retry", new FormUrlEncodedContent([new("csrf", csrf)]));
        Assert.Equal(HttpStatusCode.Redirect, retry.StatusCode);
        await Wait.UntilAsync(async () => await _db.ScalarAsync<string>("SELECT state FROM jobs.job WHERE id = $1", job.Id) == "succeeded", "the retried job to succeed");

        var after = await GetAsync($"{url}/jobs/job/{job.Id}");
        Assert.Contains("<th>state</th><td>succeeded", after);
        Assert.Contains("#1 succeeded", after);
        Assert.Contains("#1 dead", after);
        Assert.Contains("retention-purge", await GetAsync($"{url}/jobs/recurring"));
        Assert.Contains(run.Get<JobWorker>().Id, await GetAsync($"{url}/jobs/servers"));
    }

    [Fact]
    public async Task InHeadlessChromiumAnOperatorOpensTheOverviewThenAFailedJobPressesRetryAndSeesItSucceed()
    {
        FlakyJob.Failing = true;
        await using var run = await StartAsync();
        var url = UrlOf(run);
        var job = await run.Get<JobClient>().EnqueueAsync<FlakyJob, FlakyArgs>(new FlakyArgs("weekly digest"), new EnqueueOptions { MaxAttempts = 1 });
        await Wait.UntilAsync(async () => await _db.ScalarAsync<string>("SELECT state FROM jobs.job WHERE id = $1", job.Id) == "dead", "the job to die");
        await using var browser = await HeadlessChromium.StartAsync();

        await browser.OpenAsync($"{url}/jobs");
        var overview = await browser.TextAsync();
        await browser.ClickAsync("a.card[href='/jobs/state/dead']", "/jobs/state/dead");
        await browser.ClickAsync($"a[href='/jobs/job/{job.Id}']", $"/jobs/job/{job.Id}");
        var failed = await browser.TextAsync();
        FlakyJob.Failing = false;
        await browser.ClickAsync("form[action$='/retry'] button", $"/jobs/job/{job.Id}");
        await Wait.UntilAsync(async () => await _db.ScalarAsync<string>("SELECT state FROM jobs.job WHERE id = $1", job.Id) == "succeeded", "the retried job to succeed");
        await browser.OpenAsync($"{url}/jobs/job/{job.Id}");
        var succeeded = await browser.TextAsync();

        Assert.Contains("dead\n1", overview);
        Assert.Contains("weekly digest: the flaky dependency is down", failed);
        Assert.Contains("state\tsucceeded", succeeded);
        Assert.Contains("#1 succeeded", succeeded);
    }

    [Fact]
    public async Task WithATokenTheDashboardAsksForItAndRemembersIt()
    {
        await using var run = await StartAsync(Token);
        var url = UrlOf(run);

        var anonymous = await _http.GetAsync($"{url}/jobs");
        var wrong = await _http.PostAsync($"{url}/jobs/login", new FormUrlEncodedContent([new("token", "guess")]));
        var right = await _http.PostAsync($"{url}/jobs/login", new FormUrlEncodedContent([new("token", Token)]));
        var cookie = right.Headers.GetValues("Set-Cookie").Single().Split(';')[0];

        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/jobs/login", anonymous.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Contains("HttpOnly", right.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<h1>Jobs</h1>", await GetAsync($"{url}/jobs", cookie));
    }
}
