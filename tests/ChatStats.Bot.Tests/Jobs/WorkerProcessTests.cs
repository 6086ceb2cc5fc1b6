using System.Diagnostics;
using System.Globalization;
using ChatStats.Bot.Tests.Cli;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Bot.Tests.Jobs;

/// <summary>
/// Reports through `chatstats worker` processes as deployed, the bot in this process enqueueing them: a worker killed
/// with SIGKILL, one stopped with SIGTERM, and two side by side on the reports queue.
/// </summary>
public sealed class WorkerProcessTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    private readonly FakeWeasyprint _weasyprint = new();
    private readonly List<RunningChatStats> _workers = [];
    private FakeBotApi _api = null!;
    private BotHarness _bot = null!;
    private int _messageId;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
        // The bot role only: every report runs in a worker process.
        _bot = await BotHarness.StartAsync(_api, _db.ConnectionString, settings: new Dictionary<string, string?>
        {
            ["Limits:DailyHeavyQuota"] = "50",
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }
        await _bot.DisposeAsync();
        await _api.DisposeAsync();
        _weasyprint.Dispose();
        await _db.DisposeAsync();
    }

    private RunningChatStats StartWorker(Dictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = _db.ConnectionString,
            ["Telegram__BotToken"] = FakeBotApi.Token,
            ["Telegram__ApiBaseUrl"] = _api.BaseUrl,
            ["Reports__Weasyprint"] = _weasyprint.Path,
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__Microsoft"] = "Warning",
        };
        foreach (var (key, value) in settings ?? [])
        {
            environment[key] = value;
        }
        var worker = ChatStatsProcess.Start(environment, "worker");
        _workers.Add(worker);
        return worker;
    }

    private void AskForReport(FakeChat chat, long userId, string period)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _api.AddUpdates([
            UpdateFactory.Message(chat, ++_messageId, new FakeUser(userId, $"Member {userId}"), now - 60, "hello there"),
            UpdateFactory.Message(chat, ++_messageId, new FakeUser(userId, $"Member {userId}", LanguageCode: "en"), now, $"/report {period}"),
        ]);
    }

    private Task<string?> ReportStateAsync() =>
        _db.ScalarAsync<string?>("SELECT statename FROM hangfire.job WHERE invocationdata::text LIKE '%ReportJob%' ORDER BY id LIMIT 1");

    private async Task<IReadOnlyList<SentMessage>> WaitForDocumentsAsync(long chatId, int count, TimeSpan patience, RunningChatStats worker)
    {
        try
        {
            return await _api.WaitForSentAsync(s => s.ChatId == chatId && s.Method == "sendDocument", count, patience);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nworker output:\n{worker.Output}", ex);
        }
    }

    [Fact]
    public async Task AReportWhoseWorkerIsKilledIsDeliveredOnceWithinTwoMinutesOfTheWorkerComingBack()
    {
        var chat = new FakeChat(-100_961, "Killed mid-report");
        _weasyprint.SleepOnce(600);
        var first = StartWorker();
        AskForReport(chat, 961, "7d");
        await Eventually.TrueAsync(() => Task.FromResult(_weasyprint.Starts == 1), "weasyprint to start in the first worker", TimeSpan.FromSeconds(90));

        first.Kill();
        Assert.True(await first.WaitForExitAsync(TimeSpan.FromSeconds(10)), "SIGKILL ends the worker");
        var second = StartWorker();
        var back = Stopwatch.StartNew();
        var documents = await WaitForDocumentsAsync(chat.Id, 1, TimeSpan.FromMinutes(2), second);
        var deliveredAfter = back.Elapsed;
        await Eventually.TrueAsync(async () => await ReportStateAsync() == "Succeeded", "the report job to succeed");

        // Succeeded is final: no later attempt can send it again.
        Assert.Single(_api.Sent, s => s.ChatId == chat.Id && s.Method == "sendDocument");
        Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString(documents[0].File![..5]));
        Assert.Equal(2, _weasyprint.Starts);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM report_requests"));
        Console.WriteLine($"delivered {deliveredAfter.TotalSeconds:F1} s after the second worker started (invisibility timeout 60 s)");
    }

    [Fact]
    public async Task ATerminatedWorkerPutsItsRunningReportBackAndTheNextWorkerDeliversItOnce()
    {
        var chat = new FakeChat(-100_962, "Stopped mid-report");
        _weasyprint.SleepOnce(600);
        var grace = new Dictionary<string, string> { ["Jobs__ShutdownGraceSeconds"] = "2" };
        var first = StartWorker(grace);
        AskForReport(chat, 962, "7d");
        await Eventually.TrueAsync(() => Task.FromResult(_weasyprint.Starts == 1), "weasyprint to start in the first worker", TimeSpan.FromSeconds(90));

        first.Terminate();

        Assert.True(await first.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"SIGTERM stops the worker\n{first.Output}");
        Assert.Equal(0, first.ExitCode);
        // Back in its queue at once, not after the invisibility timeout; weasyprint did not outlive the worker.
        var states = await _db.ScalarAsync<string>("SELECT string_agg(name || ': ' || coalesce(reason, ''), ' | ' ORDER BY id) FROM hangfire.state");
        Assert.True(1 == await _db.ScalarAsync<long>("SELECT count(*) FROM hangfire.jobqueue WHERE queue = 'reports' AND fetchedat IS NULL"),
            $"the report is back in its queue; states: {states}\n{first.Output}");
        await Eventually.TrueAsync(() => Task.FromResult(_weasyprint.Alive().Count == 0), "weasyprint to be gone with its worker", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(_api.Sent, s => s.ChatId == chat.Id && s.Method == "sendDocument");
        Assert.DoesNotContain(_api.Sent, s => s.ChatId == chat.Id && s.Text.StartsWith("I couldn't prepare", StringComparison.Ordinal));

        var second = StartWorker(grace);
        await WaitForDocumentsAsync(chat.Id, 1, TimeSpan.FromSeconds(60), second);
        await Eventually.TrueAsync(async () => await ReportStateAsync() == "Succeeded", "the report job to succeed");
        Assert.Single(_api.Sent, s => s.ChatId == chat.Id && s.Method == "sendDocument");
    }

    [Fact]
    public async Task TwoWorkersOfTwoRunAtMostFourReportsAtOnceAndOneReportPerChat()
    {
        _weasyprint.SleepEveryRun(1.5);
        var two = new Dictionary<string, string> { ["Jobs__Queues__reports__Workers"] = "2", ["Limits__PdfConcurrency"] = "4" };
        var a = StartWorker(two);
        var b = StartWorker(two);
        var chats = Enumerable.Range(0, 6).Select(i => new FakeChat(-100_970 - i, $"Busy chat {i}")).ToList();
        var expected = new Dictionary<long, int>();
        for (var i = 0; i < chats.Count; i++)
        {
            AskForReport(chats[i], 970 + i, "7d");
            expected[chats[i].Id] = 1;
        }
        // One chat asks for three different periods: they run one after another.
        AskForReport(chats[0], 980, "30d");
        AskForReport(chats[0], 981, "all");
        expected[chats[0].Id] = 3;

        foreach (var (chatId, count) in expected)
        {
            await WaitForDocumentsAsync(chatId, count, TimeSpan.FromMinutes(2), a);
        }
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded' AND invocationdata::text LIKE '%ReportJob%'") == 8,
            "every report job to succeed");

        var runs = await RunsAsync();
        var reports = runs.Where(r => r.Outcome == "Succeeded").ToList();
        Assert.Equal(8, reports.Count);
        Assert.InRange(MaxOverlap(runs), 2, 4);
        Assert.All(runs.GroupBy(r => r.Server), server => Assert.InRange(MaxOverlap(server), 1, 2));
        Assert.Equal(2, runs.Select(r => r.Server.Split(':')[1]).Distinct().Count());
        // A chat's lock is released when its job's work ends, a moment before Hangfire writes the Succeeded state that
        // ends the run here: the next report of the chat may enter Processing in that moment (seen once in CI, 2 ms).
        Assert.All(reports.GroupBy(r => r.ChatId), chat => Assert.Equal(1, MaxOverlap(chat, TimeSpan.FromSeconds(1))));
        // weasyprint itself never ran more than four at once either.
        Assert.InRange(MaxOverlap(WeasyprintRuns()), 1, 4);
    }

    private sealed record Run(long JobId, long ChatId, string Server, DateTime Start, DateTime End, string Outcome);

    /// <summary>Every attempt as Hangfire recorded it: from its Processing state to the state that followed.</summary>
    private async Task<List<Run>> RunsAsync()
    {
        await using var cmd = _db.DataSource.CreateCommand("""
            SELECT s.jobid, j.arguments, s.data::json->>'ServerId', s.createdat,
                   (SELECT n.createdat FROM hangfire.state n WHERE n.jobid = s.jobid AND n.id > s.id ORDER BY n.id LIMIT 1),
                   (SELECT n.name FROM hangfire.state n WHERE n.jobid = s.jobid AND n.id > s.id ORDER BY n.id LIMIT 1)
            FROM hangfire.state s JOIN hangfire.job j ON j.id = s.jobid
            WHERE s.name = 'Processing' AND j.invocationdata::text LIKE '%ReportJob%'
            """);
        await using var reader = await cmd.ExecuteReaderAsync();
        var runs = new List<Run>();
        while (await reader.ReadAsync())
        {
            var arguments = reader.GetString(1);
            var chat = System.Text.RegularExpressions.Regex.Match(arguments, "ChatId\\\\?\":(-?[0-9]+)");
            runs.Add(new Run(reader.GetInt64(0), long.Parse(chat.Groups[1].Value, CultureInfo.InvariantCulture), reader.GetString(2),
                reader.GetDateTime(3), reader.GetDateTime(4), reader.GetString(5)));
        }
        return runs;
    }

    private IEnumerable<Run> WeasyprintRuns()
    {
        var runs = _weasyprint.Runs();
        foreach (var start in runs.Where(r => r.Kind == "start"))
        {
            var end = runs.First(r => r.Kind == "end" && r.Pid == start.Pid);
            yield return new Run(start.Pid, 0, "", DateTime.UnixEpoch.AddSeconds(start.At), DateTime.UnixEpoch.AddSeconds(end.At), "");
        }
    }

    /// <summary>The most runs at once; a run that ends within <paramref name="grace"/> of another's start does not overlap it.</summary>
    private static int MaxOverlap(IEnumerable<Run> runs, TimeSpan grace = default)
    {
        var list = runs.ToList();
        return list.Count == 0 ? 0 : list.Max(r => list.Count(o => o == r || (o.Start <= r.Start && o.End - grace > r.Start)));
    }
}
