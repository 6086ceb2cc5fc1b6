using System.Net;
using System.Net.Sockets;
using ChatStats.Telegram.Types;
using ChatStats.Testing;

namespace ChatStats.Telegram.Tests;

public sealed class BotApiClientTests : IAsyncLifetime
{
    private FakeBotApi _api = null!;
    private BotApiClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeBotApi.StartAsync();
        _client = new BotApiClient(new BotApiClientOptions { Token = FakeBotApi.Token, ApiBaseUrl = _api.BaseUrl });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task GetMeReturnsTheBot()
    {
        var me = await _client.GetMeAsync(CancellationToken.None);

        Assert.Equal(FakeBotApi.BotUsername, me.Username);
        Assert.True(me.IsBot);
    }

    [Fact]
    public async Task ErrorsCarryCodeDescriptionRetryAfterAndMigration()
    {
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 12", retryAfter: 12);
        _api.FailNext("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat", migrateTo: -100777);

        var flood = await Assert.ThrowsAsync<BotApiException>(() => _client.SendMessageAsync(new SendMessageRequest { ChatId = -1, Text = "x" }, CancellationToken.None));
        var moved = await Assert.ThrowsAsync<BotApiException>(() => _client.SendMessageAsync(new SendMessageRequest { ChatId = -1, Text = "x" }, CancellationToken.None));

        Assert.Equal(("sendMessage", 429, TimeSpan.FromSeconds(12)), (flood.Method, flood.ErrorCode, flood.RetryAfter!.Value));
        Assert.Equal(400, moved.ErrorCode);
        Assert.Equal(-100777, moved.MigrateToChatId);
        Assert.Contains("upgraded to a supergroup", moved.Message);
    }

    [Fact]
    public async Task AWrongTokenIsA401()
    {
        using var wrong = new BotApiClient(new BotApiClientOptions { Token = "1:wrong", ApiBaseUrl = _api.BaseUrl });

        var ex = await Assert.ThrowsAsync<BotApiException>(() => wrong.GetMeAsync(CancellationToken.None));

        Assert.Equal(401, ex.ErrorCode);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task UnparseableHtmlIsRefusedWithTelegramsMessage()
    {
        var ex = await Assert.ThrowsAsync<BotApiException>(() =>
            _client.SendMessageAsync(new SendMessageRequest { ChatId = -1, Text = "hi <x> & bye", ParseMode = ParseModes.Html }, CancellationToken.None));

        Assert.Equal(400, ex.ErrorCode);
        Assert.StartsWith("Bad Request: can't parse entities", ex.Description);
    }

    [Fact]
    public async Task SendPhotoUploadsTheFileAsMultipart()
    {
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 };

        await _client.SendPhotoAsync(-100, new InputFile("chart.png", png, "image/png"), "<b>Chart</b>", ParseModes.Html, 5, CancellationToken.None);

        var sent = Assert.Single(_api.Sent);
        Assert.Equal(("sendPhoto", -100L, "Chart", 5), (sent.Method, sent.ChatId, sent.Text, sent.ThreadId!.Value));
        Assert.Equal(png, sent.File);
    }

    [Fact]
    public async Task TheTokenNeverAppearsInAnErrorMessage()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        const string token = "987654321:SECRET_token_that_must_not_leak";
        using var client = new BotApiClient(new BotApiClientOptions { Token = token, ApiBaseUrl = $"http://127.0.0.1:{port}" });

        var ex = await Assert.ThrowsAsync<BotApiException>(() => client.GetMeAsync(CancellationToken.None));

        Assert.True(ex.IsNetworkError);
        Assert.DoesNotContain("SECRET", ex.ToString());
        Assert.Equal("calling <token>/getMe", client.Redact($"calling {token}/getMe"));
    }

    [Fact]
    public async Task GetUpdatesConfirmsBelowTheOffset()
    {
        var first = _api.AddUpdate(UpdateFactory.Message(new FakeChat(-1, "g"), 1, new FakeUser(1, "A"), UpdateFactory.BaseDate));
        var second = _api.AddUpdate(UpdateFactory.Message(new FakeChat(-1, "g"), 2, new FakeUser(1, "A"), UpdateFactory.BaseDate));
        var poll = TimeSpan.FromSeconds(1);

        var all = await _client.GetUpdatesAsync(null, 100, poll, [], CancellationToken.None);
        var again = await _client.GetUpdatesAsync(null, 100, poll, [], CancellationToken.None);
        var afterConfirm = await _client.GetUpdatesAsync(first + 1, 100, poll, [], CancellationToken.None);

        Assert.Equal([first, second], all.Select(u => u.UpdateId));
        Assert.Equal([first, second], again.Select(u => u.UpdateId));
        Assert.Equal([second], afterConfirm.Select(u => u.UpdateId));
    }
}
