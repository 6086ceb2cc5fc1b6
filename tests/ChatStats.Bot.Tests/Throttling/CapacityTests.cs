using ChatStats.Bot.Throttling;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Throttling;

/// <summary>Limits:MaxActiveChats through the running bot: full servers refuse new groups, and the operator hears of it.</summary>
public sealed class CapacityTests : IAsyncLifetime
{
    private const long Owner = 424_242;
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;
    private int _messageId;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, settings: new Dictionary<string, string?>
        {
            ["Limits:MaxActiveChats"] = "2",
            ["Limits:OwnerUserId"] = Owner.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private async Task<CapacitySnapshot> TwoActiveGroupsAsync()
    {
        var ann = new FakeUser(1, "Ann");
        _api.AddUpdates([
            UpdateFactory.Message(new FakeChat(-100_001, "First", "supergroup"), ++_messageId, ann, Now),
            UpdateFactory.Message(new FakeChat(-100_002, "Second", "supergroup"), ++_messageId, ann, Now),
            // A private chat and a group the bot left do not count.
            UpdateFactory.Message(new FakeChat(1, "Ann", "private"), ++_messageId, ann, Now),
            UpdateFactory.MyChatMember(new FakeChat(-100_003, "Gone", "supergroup"), ann, Now, "member", "left")]);
        await _bot.SettledAsync();
        return await _bot.Get<CapacityMonitor>().RefreshAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AFullServerTellsANewGroupWhyLeavesItAndRecordsNothingOfIt()
    {
        var snapshot = await TwoActiveGroupsAsync();
        Assert.Equal(CapacitySnapshot.Of(2, 2, snapshot.MeasuredAt), snapshot);

        var newcomer = new FakeChat(-100_009, "Latecomers", "supergroup");
        var bob = new FakeUser(2, "Bob", LanguageCode: "en");
        _api.AddUpdates([
            UpdateFactory.Joined(newcomer, ++_messageId, bob, Now, UpdateFactory.Bot),
            UpdateFactory.MyChatMember(newcomer, bob, Now, "left", "member"),
            UpdateFactory.Message(newcomer, ++_messageId, bob, Now, "/stats"),
            UpdateFactory.Message(newcomer, ++_messageId, bob, Now, "anyone here?")]);
        var notice = (await _api.WaitForSentAsync(s => s.ChatId == newcomer.Id, 1, BotHarness.Patience))[0];
        await _bot.SettledAsync();
        await Eventually.TrueAsync(() => Task.FromResult(_api.LeftChats.Contains(newcomer.Id)), "the bot to leave");

        Assert.Equal("Server full (2/2 chats). Try again later.", notice.Text);
        Assert.Single(_api.Sent, s => s.ChatId == newcomer.Id);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id = $1", newcomer.Id));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", newcomer.Id));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM service_events WHERE chat_id = $1", newcomer.Id));

        // The groups already served are not affected.
        _api.AddUpdate(UpdateFactory.Message(new FakeChat(-100_001, "First", "supergroup"), ++_messageId, bob, Now, "/start"));
        Assert.Contains("/stats", (await _api.WaitForSentAsync(s => s.ChatId == -100_001, 1, BotHarness.Patience))[0].Text);
    }

    [Fact]
    public async Task WithRoomANewGroupIsCountedAtOnceSoABurstOfInvitationsCannotOvershoot()
    {
        var monitor = _bot.Get<CapacityMonitor>();
        await monitor.RefreshAsync(CancellationToken.None);
        var by = new FakeUser(3, "Cleo");
        var groups = Enumerable.Range(0, 3).Select(i => new FakeChat(-100_100 - i, $"Invited {i}", "supergroup")).ToList();
        _api.AddUpdates([.. groups.Select(g => UpdateFactory.MyChatMember(g, by, Now, "left", "member"))]);
        await _bot.SettledAsync();

        Assert.Equal(2, monitor.Snapshot!.Current);
        Assert.Equal(CapacityStatus.FULL, monitor.Snapshot.Status);
        var welcomed = _api.Sent.Where(s => groups.Take(2).Any(g => g.Id == s.ChatId)).ToList();
        Assert.Equal(2, welcomed.Count);
        Assert.All(welcomed, s => Assert.StartsWith("Hi! I'm ChatStats.", s.Text, StringComparison.Ordinal));
        Assert.Equal("Server full (2/2 chats). Try again later.", _api.Sent.Single(s => s.ChatId == groups[2].Id).Text);
        // Measured again from the database, the two admitted groups stay counted (they took the bot in today).
        Assert.Equal(2, (await monitor.RefreshAsync(CancellationToken.None)).Current);
    }

    [Theory]
    [InlineData(0, "LOW")]
    [InlineData(99, "LOW")]
    [InlineData(100, "HEALTHY")]
    [InlineData(159, "HEALTHY")]
    [InlineData(160, "WARNING")]
    [InlineData(199, "WARNING")]
    [InlineData(200, "FULL")]
    [InlineData(230, "FULL")]
    public void StatusFollowsTheGuidesBands(int current, string status)
    {
        var snapshot = CapacitySnapshot.Of(current, 200, DateTimeOffset.UnixEpoch);
        Assert.Equal(status, snapshot.Status.ToString());
        Assert.Equal(current < 200, snapshot.CanAcceptNew);
        Assert.Equal(Math.Max(0, 200 - current), snapshot.Available);
    }

    [Fact]
    public async Task AlertsFireOncePerCrossingOfEightyNinetyFiveAndAHundredPercentAndReachTheOwner()
    {
        var service = _bot.Host.Services.GetServices<IHostedService>().OfType<CapacityService>().Single();
        // The service's own first measurement (0 of 2) must not land between the readings below.
        await Eventually.TrueAsync(() => Task.FromResult(_bot.Get<CapacityMonitor>().Snapshot is not null), "the first measurement");
        int[] readings = [50, 81, 85, 96, 100, 100, 70, 82];
        foreach (var current in readings)
        {
            await service.AlertAsync(CapacitySnapshot.Of(current, 100, DateTimeOffset.UtcNow), CancellationToken.None);
        }
        var alerts = await _api.WaitForSentAsync(s => s.ChatId == Owner, 4, BotHarness.Patience);

        Assert.Equal(4, alerts.Count);
        Assert.StartsWith("ChatStats capacity: 81% used (81/100 active chats, WARNING).", alerts[0].Text, StringComparison.Ordinal);
        Assert.StartsWith("ChatStats capacity: 96% used", alerts[1].Text, StringComparison.Ordinal);
        Assert.StartsWith("ChatStats capacity: FULL (100/100 active chats). New groups are refused", alerts[2].Text, StringComparison.Ordinal);
        Assert.StartsWith("ChatStats capacity: 82% used", alerts[3].Text, StringComparison.Ordinal);
    }
}
