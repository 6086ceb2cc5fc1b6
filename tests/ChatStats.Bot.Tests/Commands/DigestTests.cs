using ChatStats.Bot.Reports;
using ChatStats.Jobs;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Commands;

/// <summary>The opt-in daily digest: set by an admin, swept every five minutes, sent once a day at the chat's local time.</summary>
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
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, worker: true, settings: new Dictionary<string, string?> { ["Jobs:PollIntervalSeconds"] = "0.2" });
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

    private async Task SweepAsync()
    {
        using var scope = _bot.Host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<DigestSweepJob>().RunAsync(new DigestSweepArgs(), new JobContext(0, "default", 1, 1, _ => Task.CompletedTask, CancellationToken.None));
    }

    [Fact]
    public async Task AnAdminSetsTheDigestAndItArrivesOnceADay()
    {
        var yesterday = DateTimeOffset.UtcNow.AddDays(-1);
        var noon = new DateTimeOffset(yesterday.Year, yesterday.Month, yesterday.Day, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        _api.AddUpdates([.. Enumerable.Range(1, 5).Select(i => UpdateFactory.Message(Chat, i, new FakeUser(980 + i % 2, i % 2 == 0 ? "Ann" : "Bob"), noon + i, "yesterday's news"))]);

        Assert.StartsWith("'25:00' is not a time.", await AskAsync(10, "/settings digest 25:00"));
        Assert.Equal("Saved: digest is now 00:00.", await AskAsync(11, "/settings digest 00:00"));
        Assert.Contains("Daily digest (digest): 00:00 (UTC)", await AskAsync(12, "/settings"));

        await SweepAsync();
        await SweepAsync();
        var digest = (await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Text.StartsWith("Yesterday in", StringComparison.Ordinal), 1, BotHarness.Patience))[0];
        await Wait.UntilAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE type = 'digest' AND state = 'succeeded'") == 1, "the digest job to finish");

        Assert.Equal($"Yesterday in Digest chat ({yesterday:d MMM yyyy})", digest.Text.Split('\n')[0]);
        Assert.Contains("Messages: 5", digest.Text);
        Assert.Contains("Most active: Bob (3), Ann (2)", digest.Text);
        Assert.Single(_api.Sent, s => s.Text.StartsWith("Yesterday in", StringComparison.Ordinal));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM jobs.job WHERE type = 'digest'"));
        Assert.Equal("Saved: digest is now off.", await AskAsync(13, "/settings digest off"));
    }
}
