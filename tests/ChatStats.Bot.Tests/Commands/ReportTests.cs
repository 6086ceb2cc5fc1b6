using System.Diagnostics;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Commands;

/// <summary>/report through the bot and a worker in one process: queued, deduplicated, printed by weasyprint, sent.</summary>
public sealed class ReportTests : IAsyncLifetime
{
    private static readonly FakeChat Chat = new(-100_950, "Отчётный чат & co");
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;
    private int _messageId;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, worker: true, settings: new Dictionary<string, string?>
        {
            ["Jobs:QueuePollIntervalMilliseconds"] = "100",
            ["Limits:DailyHeavyQuota"] = "5",
        });
    }

    public async Task DisposeAsync()
    {
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task AReportIsQueuedOnceAndArrivesAsAPdfWithNamesInAnyScript()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var names = new[] { "Дмитрий", "李小龍", "Ελένη", "<b>bold</b>" };
        var updates = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            updates.Add(UpdateFactory.Message(Chat, ++_messageId, new FakeUser(700 + i % 4, names[i % 4]), now - 3600 * i, "пицца pizza 披萨 again"));
        }
        updates.Add(UpdateFactory.Message(Chat, ++_messageId, new FakeUser(700, names[0], LanguageCode: "en"), now, "/report all"));
        updates.Add(UpdateFactory.Message(Chat, ++_messageId, new FakeUser(701, names[1], LanguageCode: "en"), now, "/report all"));
        _api.AddUpdates(updates);

        var replies = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Method == "sendMessage", 2, BotHarness.Patience);
        var document = (await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Method == "sendDocument", 1, TimeSpan.FromSeconds(120)))[0];

        Assert.Equal("Preparing your report for all time… position 1 in the queue. It will arrive here when it's ready.", replies[0].Text);
        Assert.StartsWith("A report for all time is already being prepared", replies[1].Text);
        Assert.Equal("Отчётный чат & co · report for all time", document.Text);
        Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString(document.File![..5]));
        Assert.Equal(1, await _db.ScalarAsync<int>("SELECT used FROM chat_daily_usage WHERE chat_id = $1", Chat.Id));
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<string>("SELECT statename FROM hangfire.job WHERE invocationdata::text LIKE '%ReportJob%'") == "Succeeded", "the report job to succeed");
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM report_requests"));

        var text = await PdfTextAsync(document.File!);
        foreach (var name in names)
        {
            Assert.Contains(name, text);
        }
        Assert.Contains("пицца", text);
    }

    [Fact]
    public async Task WithoutWeasyprintTheChatIsToldAtOnceAndTheJobIsNotRetried()
    {
        await _bot.DisposeAsync();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, worker: true, settings: new Dictionary<string, string?>
        {
            ["Jobs:QueuePollIntervalMilliseconds"] = "100",
            ["Reports:Weasyprint"] = "/nonexistent/weasyprint",
        });
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _api.AddUpdates([
            UpdateFactory.Message(Chat, ++_messageId, new FakeUser(700, "Ann"), now, "hello"),
            UpdateFactory.Message(Chat, ++_messageId, new FakeUser(700, "Ann"), now, "/report 7d"),
        ]);

        var told = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Text.StartsWith("I couldn't prepare", StringComparison.Ordinal), 1, BotHarness.Patience);

        Assert.StartsWith("I couldn't prepare the report for ", told[0].Text);
        Assert.Contains("after 1 attempt (Reports:Weasyprint is /nonexistent/weasyprint, which does not exist", told[0].Text);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<string>("SELECT statename FROM hangfire.job WHERE invocationdata::text LIKE '%ReportJob%'") == "Failed", "the report job to fail for good");
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM hangfire.state s JOIN hangfire.job j ON j.id = s.jobid WHERE s.name = 'Processing'"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM report_requests"));
    }

    [Fact]
    public async Task WhenHangfiresStorageIsDownTheChatHearsItIsBusyAndMayAskAgainWithItsQuota()
    {
        await _bot.DisposeAsync();
        var down = new DownJobClient();
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, worker: true, settings: new Dictionary<string, string?>
        {
            ["Jobs:QueuePollIntervalMilliseconds"] = "100",
            ["Limits:DailyHeavyQuota"] = "5",
        }, services: s => s.AddSingleton<Hangfire.IBackgroundJobClient>(down));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _api.AddUpdates([
            UpdateFactory.Message(Chat, ++_messageId, new FakeUser(700, "Ann"), now, "hello"),
            UpdateFactory.Message(Chat, ++_messageId, new FakeUser(700, "Ann", LanguageCode: "en"), now, "/report 7d"),
        ]);

        var told = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Method == "sendMessage", 1, BotHarness.Patience);

        Assert.Equal("The database is busy right now. Try again in a few seconds.", told[0].Text);
        Assert.Equal(1, down.Attempts);
        // Nothing blocks asking again, and the day's quota is whole.
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM report_requests"));
        Assert.Equal(0, await _db.ScalarAsync<int>("SELECT coalesce(sum(used), 0)::int FROM chat_daily_usage WHERE chat_id = $1", Chat.Id));
    }

    /// <summary>A Hangfire client whose storage cannot be reached, as Hangfire reports it.</summary>
    private sealed class DownJobClient : Hangfire.IBackgroundJobClient
    {
        public int Attempts { get; private set; }

        public string Create(Hangfire.Common.Job job, Hangfire.States.IState state)
        {
            Attempts++;
            throw new Hangfire.BackgroundJobClientException("Background job creation failed. See inner exception for details.",
                new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:5432", new System.Net.Sockets.SocketException(111)));
        }

        public bool ChangeState(string jobId, Hangfire.States.IState state, string expectedState) => throw new NotSupportedException();
    }

    /// <summary>The text of a PDF, as pdftotext (poppler-utils, installed by deploy/dev.sh) reads it.</summary>
    internal static async Task<string> PdfTextAsync(byte[] pdf)
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, pdf);
            var start = new ProcessStartInfo("pdftotext") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-enc");
            start.ArgumentList.Add("UTF-8");
            start.ArgumentList.Add(path);
            start.ArgumentList.Add("-");
            using var process = Process.Start(start)!;
            var text = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return text;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
