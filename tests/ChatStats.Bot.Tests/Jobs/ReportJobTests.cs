using Microsoft.Extensions.Logging;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Jobs;

/// <summary>A report job's deadlines, retries and delivery mark, on Hangfire in this process against real PostgreSQL.</summary>
public sealed class ReportJobTests : IAsyncLifetime
{
    private static readonly FakeChat Chat = new(-100_990, "Deadlines");
    private readonly PostgresDatabase _db = new();
    private readonly FakeWeasyprint _weasyprint = new();
    private readonly LogLines _logs = new();
    private FakeBotApi _api = null!;
    private BotHarness? _bot;
    private int _messageId;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_bot is not null)
        {
            await _bot.DisposeAsync();
        }
        await _api.DisposeAsync();
        _weasyprint.Dispose();
        await _db.DisposeAsync();
    }

    private async Task StartAsync(Dictionary<string, string?> settings, bool worker = true)
    {
        settings["Reports:Weasyprint"] = _weasyprint.Path;
        settings["Jobs:QueuePollIntervalMilliseconds"] = "100";
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, worker: worker, settings: settings, services: s => s.AddSingleton<ILoggerProvider>(_logs));
    }

    private void AskForReport()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _api.AddUpdates([
            UpdateFactory.Message(Chat, ++_messageId, new FakeUser(990, "Ann"), now - 60, "hello"),
            UpdateFactory.Message(Chat, ++_messageId, new FakeUser(990, "Ann", LanguageCode: "en"), now, "/report 7d"),
        ]);
    }

    private async Task<string> ToldAsync()
    {
        var told = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Text.StartsWith("I couldn't prepare", StringComparison.Ordinal), 1, BotHarness.Patience);
        return told[0].Text;
    }

    /// <summary>The report job's final state and the exception message Hangfire keeps with a Failed state.</summary>
    private async Task<(string State, string? Reason)> FinalAsync(string state)
    {
        const string Job = "SELECT id FROM hangfire.job WHERE invocationdata::text LIKE '%ReportJob%' ORDER BY id LIMIT 1";
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<string?>($"SELECT statename FROM hangfire.job WHERE id = ({Job})") == state, $"the report job to be {state}");
        var reason = await _db.ScalarAsync<string?>(
            $"SELECT data::json->>'ExceptionMessage' FROM hangfire.state WHERE jobid = ({Job}) AND name = 'Failed' ORDER BY id DESC LIMIT 1");
        return (state, reason);
    }

    [Fact]
    public async Task AtTheSoftTimeoutTheReportStopsAtItsNextStepAndTheChatIsTold()
    {
        _weasyprint.SleepEveryRun(3);
        await StartAsync(new()
        {
            ["Jobs:Queues:reports:SoftTimeoutSeconds"] = "1",
            ["Jobs:Queues:reports:TimeoutSeconds"] = "60",
            ["Jobs:Queues:reports:MaxAttempts"] = "1",
        });
        AskForReport();

        var told = await ToldAsync();
        var (_, reason) = await FinalAsync("Failed");

        Assert.Equal("stopped at the soft timeout of 1 s (Jobs:Queues:reports:SoftTimeoutSeconds)", reason);
        Assert.Contains("after 1 attempt (stopped at the soft timeout of 1 s", told);
        // weasyprint was let finish: the soft timeout stops the job between steps, it kills nothing.
        Assert.Equal(1, _weasyprint.Ends);
        Assert.DoesNotContain(_api.Sent, s => s.Method == "sendDocument");
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM report_requests"));
    }

    [Fact]
    public async Task AtTheHardTimeoutWeasyprintIsKilledWithItsChildrenAndTheAttemptFailsSayingSo()
    {
        _weasyprint.IgnoreSigterm();
        _weasyprint.SleepEveryRun(600);
        // The soft timeout must come after weasyprint has started (a report stops at the soft timeout only between steps):
        // with 1 s, a busy machine (the fresh-clone CI run, beside the scale-out tests' processes) had not reached
        // weasyprint yet, and the attempt ended at the soft timeout instead.
        await StartAsync(new()
        {
            ["Jobs:Queues:reports:SoftTimeoutSeconds"] = "5",
            ["Jobs:Queues:reports:TimeoutSeconds"] = "8",
            ["Jobs:Queues:reports:MaxAttempts"] = "1",
        });
        AskForReport();

        var told = await ToldAsync();
        var (_, reason) = await FinalAsync("Failed");

        Assert.Equal("killed at the hard timeout of 8 s (Jobs:Queues:reports:TimeoutSeconds)", reason);
        Assert.Contains("(killed at the hard timeout of 8 s", told);
        Assert.Equal(1, _weasyprint.Starts);
        Assert.Equal(0, _weasyprint.Ends);
        Assert.Empty(_weasyprint.Alive());
        Assert.Contains(_logs.All, l => l.StartsWith("Error ChatStats.Bot.Jobs.JobRetries", StringComparison.Ordinal) && l.Contains("failed on its last attempt (1 of 1)", StringComparison.Ordinal)
            && l.Contains("System.TimeoutException: killed at the hard timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFailingReportIsRetriedWithEveryFailureLoggedThenTheChatHearsWhy()
    {
        _weasyprint.Fail("fake weasyprint: the font cache is broken");
        await StartAsync(new()
        {
            ["Jobs:Queues:reports:MaxAttempts"] = "3",
            ["Jobs:Queues:reports:RetryDelaySeconds"] = "1",
        });
        AskForReport();

        var told = await ToldAsync();
        var (_, reason) = await FinalAsync("Failed");

        Assert.Equal(3, _weasyprint.Starts);
        Assert.StartsWith("weasyprint exited with 1: fake weasyprint: the font cache is broken", reason);
        Assert.Contains("after 3 attempts (weasyprint exited with 1: fake weasyprint: the font cache is broken)", told);
        Assert.Single(_api.Sent, s => s.Text.StartsWith("I couldn't prepare", StringComparison.Ordinal));
        var failures = _logs.All.Where(l => l.StartsWith("Error ChatStats.Bot.Jobs.JobRetries", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, l => l.Contains("attempt 1 of 3 failed; retrying in", StringComparison.Ordinal));
        Assert.Contains(failures, l => l.Contains("attempt 2 of 3 failed; retrying in", StringComparison.Ordinal));
        Assert.Contains(failures, l => l.Contains("failed on its last attempt (3 of 3)", StringComparison.Ordinal));
        Assert.All(failures, l => Assert.Contains("ChatStats.Bot.Reports.PdfException: weasyprint exited with 1", l));
        // The dashboard counts the retries where Hangfire's own retries would.
        Assert.Equal("2", await _db.ScalarAsync<string>("SELECT value FROM hangfire.jobparameter WHERE name = 'RetryCount'"));
    }

    [Fact]
    public async Task AnotherHostOfTheProcessStoppingLeavesThisOnesWorkersRunning()
    {
        await StartAsync(new());
        // A second host with workers configures Hangfire's process-wide settings after this one, then goes away.
        var other = new PostgresDatabase();
        await other.InitializeAsync();
        try
        {
            await using var otherApi = await FakeBotApi.StartAsync();
            var second = await BotHarness.StartAsync(otherApi, other.ConnectionString, worker: true);
            await second.DisposeAsync();
        }
        finally
        {
            await other.DisposeAsync();
        }

        AskForReport();

        // Hangfire's log lines used to go to the disposed host's loggers, and every job fetched after that was dropped.
        var document = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Method == "sendDocument", 1, BotHarness.Patience);
        Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString(document[0].File![..5]));
        await FinalAsync("Succeeded");
    }

    [Fact]
    public async Task WorkersStartedWhileTheDatabaseIsDownInstallHangfireAndRunReportsOnceItIsBack()
    {
        var target = new Npgsql.NpgsqlConnectionStringBuilder(_db.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new Npgsql.NpgsqlConnectionStringBuilder(_db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        proxy.Cut();
        _bot = await BotHarness.StartAsync(_api, viaProxy, worker: true, settings: new Dictionary<string, string?>
        {
            ["Reports:Weasyprint"] = _weasyprint.Path,
            ["Jobs:QueuePollIntervalMilliseconds"] = "100",
        }, services: s => s.AddSingleton<ILoggerProvider>(_logs));

        proxy.Restore();
        AskForReport();

        var document = await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Method == "sendDocument", 1, BotHarness.Patience);
        Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString(document[0].File![..5]));
        await FinalAsync("Succeeded");
    }

    [Fact]
    public async Task AReportAnEarlierAttemptDeliveredIsNotSentAgain()
    {
        await StartAsync(new(), worker: false);
        AskForReport();
        // Answered once the job is enqueued (the bot's first enqueue installs Hangfire's schema if need be).
        await _api.WaitForSentAsync(s => s.ChatId == Chat.Id && s.Text.StartsWith("Preparing your report", StringComparison.Ordinal), 1, BotHarness.Patience);
        // What an attempt leaves behind when its worker dies between the send and Hangfire's Succeeded.
        await _db.ExecuteAsync("""
            INSERT INTO hangfire.jobparameter (jobid, name, value)
            SELECT id, 'Delivered', 'true' FROM hangfire.job WHERE invocationdata::text LIKE '%ReportJob%'
            """);
        await _bot!.DisposeAsync();
        _bot = null;

        await StartAsync(new());
        await FinalAsync("Succeeded");

        Assert.Equal(0, _weasyprint.Starts);
        Assert.DoesNotContain(_api.Sent, s => s.Method == "sendDocument");
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM report_requests"));
        Assert.Contains(_logs.All, l => l.Contains("was delivered by an attempt that did not finish; not sending it again", StringComparison.Ordinal));
    }
}
