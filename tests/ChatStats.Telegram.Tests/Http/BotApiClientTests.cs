using System.Net;
using System.Net.Sockets;
using ChatStats.Telegram.Http;
using ChatStats.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Telegram.Tests.Http;

/// <summary>Telegram.Bot's client as ChatStats wires it (AddTelegramBotClient), against the fake Bot API.</summary>
public sealed class BotApiClientTests : IAsyncLifetime
{
    private FakeBotApi _api = null!;
    private ITelegramBotClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeBotApi.StartAsync();
        _client = _api.CreateClient();
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task GetMeReturnsTheBot()
    {
        var me = await _client.GetMe();

        Assert.Equal(FakeBotApi.BotUsername, me.Username);
        Assert.True(me.IsBot);
    }

    [Fact]
    public async Task ErrorsAreTheLibrarysExceptionsWithRetryAfterAndMigration()
    {
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 12", retryAfter: 12);
        _api.FailNext("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat", migrateTo: -100777);

        var flood = await Assert.ThrowsAsync<ApiRequestException>(() => _client.SendMessage(-1, "x"));
        var moved = await Assert.ThrowsAsync<ApiRequestException>(() => _client.SendMessage(-1, "x"));

        Assert.Equal((429, TimeSpan.FromSeconds(12)), (flood.ErrorCode, flood.RetryAfter()!.Value));
        Assert.True(flood.IsTransient());
        Assert.Equal(400, moved.Code());
        Assert.Equal(-100777, moved.MigrateToChatId());
        Assert.Contains("upgraded to a supergroup", moved.Message);
    }

    [Fact]
    public async Task ATooManyRequestsAnswerIsNeverRetriedByTheLibraryItself()
    {
        // With the library's defaults (RetryThreshold 60) the first call would sleep a second and succeed on its own.
        _api.FailNext("sendMessage", 429, "Too Many Requests: retry after 1", retryAfter: 1, times: 2);

        // Three chats: the fake, like Telegram, refuses a chat that was told to wait until its wait is over.
        await Assert.ThrowsAsync<ApiRequestException>(() => _client.SendMessage(-1, "first"));
        await Assert.ThrowsAsync<ApiRequestException>(() => _client.SendMessage(-2, "second"));
        await _client.SendMessage(-3, "third");

        Assert.Equal("third", Assert.Single(_api.Sent).Text);
    }

    [Fact]
    public async Task AWrongTokenIsUnauthorized()
    {
        var wrong = _api.CreateClient(token: "1:wrong");

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => wrong.GetMe());

        Assert.Equal(401, ex.ErrorCode);
        Assert.True(ex.IsUnauthorized());
        Assert.False(ex.IsTransient());
    }

    [Fact]
    public async Task UnparseableHtmlIsRefusedWithTelegramsMessage()
    {
        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => _client.SendMessage(-1, "hi <x> & bye", ParseMode.Html));

        Assert.Equal(400, ex.ErrorCode);
        Assert.StartsWith("Bad Request: can't parse entities", ex.Message);
    }

    [Fact]
    public async Task SendPhotoUploadsTheFileAsMultipart()
    {
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 };

        await _client.SendPhoto(-100, InputFile.FromStream(new MemoryStream(png), "chart.png"), "<b>Chart</b>", ParseMode.Html, messageThreadId: 5);

        var sent = Assert.Single(_api.Sent);
        Assert.Equal(("sendPhoto", -100L, "Chart", 5), (sent.Method, sent.ChatId, sent.Text, sent.ThreadId!.Value));
        Assert.Equal(png, sent.File);
    }

    [Fact]
    public async Task NoAnswerAtAllIsATransientRequestException()
    {
        var client = _api.CreateClient();
        await _api.DisposeAsync();

        var ex = await Assert.ThrowsAsync<RequestException>(() => client.GetMe());

        Assert.Equal(0, ex.Code());
        Assert.True(ex.IsTransient());
        _api = await FakeBotApi.StartAsync();
    }

    [Fact]
    public async Task TheTokenAppearsInNoErrorMessageAndNoLogLine()
    {
        const string token = "987654321:SECRET_token_that_must_not_leak";
        var lines = new LogLines();
        using var refused = new TcpListener(IPAddress.Loopback, 0);
        refused.Start();
        var closedPort = ((IPEndPoint)refused.LocalEndpoint).Port;
        refused.Stop();
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;

        var errors = new List<Exception>();
        foreach (var baseUrl in new[] { $"http://127.0.0.1:{closedPort}", $"http://127.0.0.1:{silentPort}", _api.BaseUrl })
        {
            var client = Client(baseUrl, token, lines);
            // Connection refused, no answer within the deadline, and Telegram refusing the token.
            errors.Add(await Assert.ThrowsAnyAsync<RequestException>(() => client.GetMe()));
        }

        Assert.Contains(errors, e => e.Message.Contains("timed out", StringComparison.OrdinalIgnoreCase));
        Assert.All(errors, e => Assert.DoesNotContain("SECRET", e.ToString(), StringComparison.Ordinal));
        Assert.NotEmpty(lines.All);
        Assert.All(lines.All, l => Assert.DoesNotContain("SECRET", l, StringComparison.Ordinal));
        Assert.Equal("calling <token>/getMe", new BotApiConnection { Token = token }.Redact($"calling {token}/getMe"));
    }

    [Fact]
    public void EachCallGetsTheDeadlineOfItsKind()
    {
        var handler = new BotApiHttpHandler(new BotApiConnection
        {
            Token = "1:x",
            PollTimeout = TimeSpan.FromSeconds(30),
            RequestTimeout = TimeSpan.FromSeconds(7),
            UploadTimeout = TimeSpan.FromSeconds(45),
        });

        Assert.Equal(TimeSpan.FromSeconds(45), handler.DeadlineFor("getUpdates", null));
        Assert.Equal(TimeSpan.FromSeconds(7), handler.DeadlineFor("sendMessage", new StringContent("{}")));
        Assert.Equal(TimeSpan.FromSeconds(45), handler.DeadlineFor("sendPhoto", new MultipartFormDataContent()));
        Assert.Equal("getMe", BotApiHttpHandler.MethodName(new Uri("https://api.telegram.org/bot1:secret/getMe")));
    }

    private static ITelegramBotClient Client(string baseUrl, string token, LogLines lines)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(lines));
        services.AddTelegramBotClient(_ => new BotApiConnection { Token = token, BaseUrl = baseUrl, RequestTimeout = TimeSpan.FromSeconds(1) });
        return services.BuildServiceProvider().GetRequiredService<ITelegramBotClient>();
    }
}
