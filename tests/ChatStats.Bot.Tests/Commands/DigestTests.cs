using ChatStats.Bot.Reports;
using ChatStats.Testing;
using Hangfire;
using Hangfire.Storage;

namespace ChatStats.Bot.Tests.Commands;

/// <summary>
/// The opt-in daily digest: set by an admin, a Hangfire recurring job at the chat's local time in the chat's zone,
/// sent once a day however often it runs.
/// </summary>
public sealed class DigestTests : IAsyncLifetime
{
    private static readonly FakeChat Chat = new(-100_970, "Digest chat");
    private static readonly FakeUser Admin = new(971, "Admin");
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _api.SetAdministrators(Chat.Id, (Admin.Id, Admin.FirstName, "creator"));
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, worker: true, settings: new Dictionary<string, string?> { ["Jobs:QueuePollIntervalMilliseconds"] = "100" });
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private async Task<string> AskAsync(int id, string text)
    {
        var before = _api.Sent.Count(s => s.ChatId == Chat.Id);
        _api.AddUpdate(UpdateFactory.Message(Chat, id, Admin, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), text));
        return (await _api.WaitForSentAsync(s => s.ChatId == Chat.Id, before + 1, BotHarness.Patience))[^1].Text;
    }

    private RecurringJobDto? Schedule()
    {
        using var connection = _bot.Get<JobStorage>().GetConnection();
        return connection.GetRecurringJobs().SingleOrDefault(j => j.Id == DigestSchedules.IdOf(Chat.Id));
    }

    private long Succeeded() => _bot.Get<JobStorage>().GetMonitoringApi().SucceededListCount();

    [Fact]
    public async Task AnAdminSetsTheDigestAndItArrivesOnceADay()
    {
        var yesterday = DateTimeOffset.UtcNow.AddDays(-1);
        var noon = new DateTimeOffset(yesterday.Year, yesterday.Month, yesterday.Day, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        _api.AddUpdates([.. Enumerable.Range(1, 5).Select(i => UpdateFactory.Message(Chat, i, new FakeUser(980 + i % 2, i % 2 == 0 ? "Ann" : "Bob"), noon + i, "yesterday's news"))]);

        Assert.StartsWith("'25:00' is not a time.", await AskAsync(10, "/settings digest 25:00"));
        Assert.Equal("Saved: digest is now 00:00.", await AskAsync(11, "/settings digest 00:00"));
        Assert.Contains("Daily digest (digest): 00:00 (UTC)", await AskAsync(12, "/settings"));

        // Run it now, twice (as a retry or a worker killed after the send would): one digest all the same.
        var recurring = _bot.Get<IRecurringJobManager>();
        recurring.Trigger(DigestSchedules.IdOf(Chat.Id));
        var digest = (await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Text.StartsWith("Yesterday in", StringComparison.Ordinal), 1, BotHarness.Patience))[0];
        var before = Succeeded();
        recurring.Trigger(DigestSchedules.IdOf(Chat.Id));
        await Eventually.TrueAsync(() => Task.FromResult(Succeeded() > before), "the second run to finish");

        Assert.Equal($"Yesterday in Digest chat ({yesterday:d MMM yyyy})", digest.Text.Split('\n')[0]);
        Assert.Contains("Messages: 5", digest.Text);
        Assert.Contains("Most active: Bob (3), Ann (2)", digest.Text);
        Assert.Single(_api.Sent, s => s.Text.StartsWith("Yesterday in", StringComparison.Ordinal));
        Assert.Equal("Saved: digest is now off.", await AskAsync(13, "/settings digest off"));
        Assert.Null(Schedule());
    }

    [Fact]
    public async Task TheDigestRunsAtTheChatsLocalTimeAndFollowsItsZone()
    {
        Assert.Equal("Saved: digest is now 08:30.", await AskAsync(20, "/settings digest 8:30"));
        Assert.Equal("Saved: tz is now Europe/Berlin.", await AskAsync(21, "/settings tz Europe/Berlin"));

        var berlin = Schedule()!;
        Assert.Equal(("30 8 * * *", "Europe/Berlin"), (berlin.Cron, berlin.TimeZoneId));
        Assert.Equal(NextLocal(new TimeOnly(8, 30), "Europe/Berlin"), berlin.NextExecution);

        Assert.Equal("Saved: tz is now Asia/Kolkata.", await AskAsync(22, "/settings tz Asia/Kolkata"));
        var kolkata = Schedule()!;
        Assert.Equal("Asia/Kolkata", kolkata.TimeZoneId);
        Assert.Equal(NextLocal(new TimeOnly(8, 30), "Asia/Kolkata"), kolkata.NextExecution);
    }

    [Fact]
    public async Task ReconcilingCreatesMissingSchedulesAndRemovesOrphans()
    {
        await _db.ExecuteAsync("INSERT INTO chats (id, type, title, is_forum, first_seen_at, updated_at, settings) VALUES ($1, 'supergroup', 'Set by hand', false, now(), now(), '{\"digest\":\"21:05\"}')", -100_9_001L);
        var recurring = _bot.Get<IRecurringJobManager>();
        recurring.AddOrUpdate<DigestJob>(DigestSchedules.IdOf(-100_9_002), j => j.RunAsync(-100_9_002, CancellationToken.None), "0 0 * * *");

        await _bot.Get<DigestSchedules>().ReconcileAsync(CancellationToken.None);

        using var connection = _bot.Get<JobStorage>().GetConnection();
        // The workers register ChatStats's own recurring jobs as they start, one after another: wait for all of them.
        string[] own = ["retention-purge", "digest-schedules", "fold-pending-totals"];
        await Eventually.TrueAsync(() => own.All(id => connection.GetRecurringJobs().Any(j => j.Id == id)),
            () => $"the recurring jobs {string.Join(", ", own)} to be registered (there: {string.Join(", ", connection.GetRecurringJobs().Select(j => j.Id))})");
        var ids = connection.GetRecurringJobs().Select(j => j.Id).ToList();
        Assert.Contains(DigestSchedules.IdOf(-100_9_001), ids);
        Assert.DoesNotContain(DigestSchedules.IdOf(-100_9_002), ids);
        Assert.Contains("retention-purge", ids);
        Assert.Contains("fold-pending-totals", ids);
    }

    /// <summary>The next <paramref name="at"/> in <paramref name="zone"/>, as UTC: what the schedule must say, computed without Hangfire.</summary>
    private static DateTime NextLocal(TimeOnly at, string zone)
    {
        var tz = TimeZoneInfo.FindSystemTimeZoneById(zone);
        var now = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, tz);
        var candidate = DateOnly.FromDateTime(now.DateTime).ToDateTime(at);
        if (candidate <= now.DateTime)
        {
            candidate = candidate.AddDays(1);
        }
        return TimeZoneInfo.ConvertTimeToUtc(candidate, tz);
    }
}
