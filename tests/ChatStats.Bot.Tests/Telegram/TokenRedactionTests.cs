using System.Net;
using System.Net.Sockets;
using ChatStats.Testing;
using Microsoft.Extensions.Logging;

namespace ChatStats.Bot.Tests.Telegram;

/// <summary>The token is part of every Bot API URL; whatever goes wrong, the bot's log must never show it.</summary>
public sealed class TokenRedactionTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task ABotThatCannotReachTelegramLogsWhyWithoutItsToken()
    {
        await using var api = await FakeBotApi.StartAsync();
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var unreachable = $"http://127.0.0.1:{((IPEndPoint)closed.LocalEndpoint).Port}";
        closed.Stop();
        var lines = new LogLines();

        await using (var bot = await BotHarness.StartAsync(api, _db.ConnectionString,
            settings: new Dictionary<string, string?> { ["Telegram:ApiBaseUrl"] = unreachable, ["Logging:LogLevel:Default"] = "Trace" },
            services: s => s.AddLogging(b => b.AddProvider(lines))))
        {
            await Eventually.TrueAsync(() => Task.FromResult(lines.All.Count(l => l.Contains("getMe failed", StringComparison.Ordinal)) >= 2), "two failed getMe attempts logged");
        }

        Assert.Contains(lines.All, l => l.Contains("Bot API getMe failed", StringComparison.Ordinal));
        Assert.All(lines.All, l => Assert.DoesNotContain("fake-token-for-tests", l, StringComparison.Ordinal));
    }
}
