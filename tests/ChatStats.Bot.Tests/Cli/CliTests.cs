using System.Text.Json;
using ChatStats.Bot.Cli;
using ChatStats.Bot.Ingest;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Bot.Tests.Cli;

public sealed class CliTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private Dictionary<string, string> Env(string? connectionString = null) => new()
    {
        ["Database__ConnectionString"] = connectionString ?? _db.ConnectionString,
        ["TELEGRAM_BOT_TOKEN"] = FakeBotApi.Token,
        ["TELEGRAM_API_BASE_URL"] = _api.BaseUrl,
    };

    private async Task SeedAsync(long chatId)
    {
        var chat = new FakeChat(chatId, "CLI <chat>");
        var batch = new IngestBatch();
        var ann = new FakeUser(700, "Ann & Co");
        var bob = new FakeUser(701, "Bob");
        string[] updates =
        [
            UpdateFactory.Message(chat, 1, ann, UpdateFactory.BaseDate, "one two three"),
            UpdateFactory.Message(chat, 2, ann, UpdateFactory.BaseDate + 5, "caption", FakeKind.Photo),
            UpdateFactory.Message(chat, 3, bob, UpdateFactory.BaseDate + 9, null, FakeKind.Sticker),
        ];
        foreach (var json in updates)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node["update_id"] = 1;
            UpdateMapper.Map(UpdateFactory.Read(node), batch, true);
        }
        await new IngestWriter(_db.DataSource).WriteAsync(batch, CancellationToken.None);
    }

    [Fact]
    public async Task TierShowsAndSetsAChatsTier()
    {
        await SeedAsync(-100_210);

        var before = await ChatStatsProcess.RunAsync(Env(), "tier", "--chat", "-100210");
        var set = await ChatStatsProcess.RunAsync(Env(), "tier", "--chat", "-100210", "--set", "enterprise");
        var bad = await ChatStatsProcess.RunAsync(Env(), "tier", "--chat", "-100210", "--set", "gold");

        Assert.Equal("chat -100210 CLI <chat>: tier FREE (the default)", before.Output.Trim());
        Assert.Equal("chat -100210 CLI <chat>: tier ENTERPRISE", set.Output.Trim());
        Assert.Equal("ENTERPRISE", await _db.ScalarAsync<string>("SELECT tier FROM chats WHERE id = -100210"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("'gold' is not a tier; use one of FREE, PREMIUM, ENTERPRISE, INTERNAL or 'default'.", bad.Error);
    }

    [Fact]
    public async Task ImportReadsAnExportAndSummarisesWhatItAdded()
    {
        var dir = Directory.CreateTempSubdirectory("chatstats-cli-import");
        try
        {
            var path = Path.Combine(dir.FullName, "result.json");
            var expected = ExportBuilder.Write(path, 2_000, wholeAccount: true);

            var result = await ChatStatsProcess.RunAsync(Env(), "import", path);
            var missing = await ChatStatsProcess.RunAsync(Env(), "import", Path.Combine(dir.FullName, "nothing.json"));

            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Contains($"{ExportBuilder.BotApiChatId} supergroup", result.Output);
            Assert.Contains($"Imported 1 chat: {expected.Messages:N0} messages read, {expected.Messages:N0} new", result.Output);
            Assert.Contains("skipped: A friend (personal_chat): not a group", result.Output);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("nothing.json does not exist.", missing.Error);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AnImportThatSkipsMessagesSaysWhichAndExitsWithItsOwnCode()
    {
        var dir = Directory.CreateTempSubdirectory("chatstats-cli-import");
        try
        {
            var path = Path.Combine(dir.FullName, "result.json");
            await File.WriteAllTextAsync(path, $$"""
                {"name": "Skips\u001b[2J", "type": "private_supergroup", "id": {{ExportBuilder.ExportChatId}}, "messages": [
                  {"id": 1, "type": "message", "date_unixtime": "1700000000", "from": "Ann", "from_id": "user42", "text": "kept"},
                  {"id": "two", "type": "message", "date_unixtime": "1700000060", "from": "Ann", "from_id": "user42", "text": "a string id"}
                ]}
                """);

            var result = await ChatStatsProcess.RunAsync(Env(), "import", path);

            Assert.Equal(3, result.ExitCode);
            // The title's escape sequence (it would clear the operator's screen) is printed as U+FFFD.
            Assert.Contains("skipped 1 message of Skips\uFFFD[2J: #2: its id is a string, not a number", result.Output);
            Assert.DoesNotContain("\u001b", result.Output, StringComparison.Ordinal);
            Assert.Contains("Imported 1 chat: 1 message read, 1 new", result.Output);
            Assert.Contains("1 message could not be imported (listed above); everything else was.", result.Error);
            Assert.DoesNotContain("Exception", result.Error + result.Output, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Limits__MaxActiveChats", "abc", "Limits:MaxActiveChats: 'abc' is not a whole number")]
    [InlineData("Database__MaxPoolSize", "99999999999999", "Database:MaxPoolSize: '99999999999999' is not a whole number")]
    [InlineData("Limits__Enabled", "maybe", "Limits:Enabled: 'maybe' is not true or false.")]
    [InlineData("Telegram__UploadTimeoutSeconds", "1e20", "Telegram:UploadTimeoutSeconds: must be between 1 and 600 seconds")]
    public async Task ASettingThatIsNotEvenOfItsTypeIsOneLineNamingTheKey(string variable, string value, string expected)
    {
        // Once an unhandled exception: the binder's conversion failure, or a [Range] overflowing, with a stack trace.
        var env = Env();
        env[variable] = value;

        var result = await ChatStatsProcess.RunAsync(env, "run");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"chatstats: configuration error: {expected}", result.Error);
        Assert.DoesNotContain("   at ", result.Error + result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", result.Error + result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatsPrintsTheSameTotalsAsJson()
    {
        await SeedAsync(-100_200);

        var result = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "-100200", "--format", "json");

        Assert.True(result.ExitCode == 0, result.Error);
        var json = JsonDocument.Parse(result.Output).RootElement;
        Assert.Equal(3, json.GetProperty("messages").GetInt64());
        Assert.Equal(2, json.GetProperty("members").GetInt64());
        Assert.Equal(4, json.GetProperty("words").GetInt64());
        Assert.Equal(1, json.GetProperty("by_kind").GetProperty("sticker").GetInt64());
        Assert.Equal("Ann & Co", json.GetProperty("top")[0].GetProperty("name").GetString());
        Assert.Equal("CLI <chat>", json.GetProperty("title").GetString());
        Assert.Equal("all", json.GetProperty("period").GetString());
        Assert.Equal("2026-01-01", json.GetProperty("busiest_day").GetString());

        var january = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "-100200", "--period", "2026-01", "--format", "json");
        var february = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "-100200", "--period", "2026-02", "--format", "json");
        var bad = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "-100200", "--period", "last week");
        Assert.Equal(3, JsonDocument.Parse(january.Output).RootElement.GetProperty("messages").GetInt64());
        Assert.Equal(0, JsonDocument.Parse(february.Output).RootElement.GetProperty("messages").GetInt64());
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("'last week' is not a period. Periods: today, yesterday", bad.Error);
    }

    [Fact]
    public async Task ReportIsWrittenOfflineAsHtmlOrPdf()
    {
        await SeedAsync(-100_230);
        var dir = Directory.CreateTempSubdirectory("chatstats-cli-report");
        try
        {
            var html = Path.Combine(dir.FullName, "report.html");
            var pdf = Path.Combine(dir.FullName, "report.pdf");

            var asHtml = await ChatStatsProcess.RunAsync(Env(), "report", "--chat", "-100230", "--period", "all", "--out", html);
            var asPdf = await ChatStatsProcess.RunAsync(Env(), "report", "--chat", "-100230", "--period", "all", "--out", pdf);
            var badPeriod = await ChatStatsProcess.RunAsync(Env(), "report", "--chat", "-100230", "--period", "soon", "--out", pdf);
            var noChat = await ChatStatsProcess.RunAsync(Env(), "report", "--chat", "-100999", "--out", pdf);

            Assert.True(asHtml.ExitCode == 0, asHtml.Error);
            Assert.True(asPdf.ExitCode == 0, asPdf.Error);
            var text = await File.ReadAllTextAsync(html);
            Assert.Contains("CLI &lt;chat&gt;", text);
            Assert.Contains("Ann &amp; Co", text);
            Assert.Contains("<svg", text);
            Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString((await File.ReadAllBytesAsync(pdf))[..5]));
            Assert.Equal(2, badPeriod.ExitCode);
            Assert.Contains("'soon' is not a period", badPeriod.Error);
            Assert.Equal(1, noChat.ExitCode);
            Assert.Contains("no chat -100999 in the database", noChat.Error);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("activity", "svg")]
    [InlineData("history", "png")]
    [InlineData("types", "svg")]
    public async Task ChartsAreDrawnOfflineToSvgOrPng(string kind, string extension)
    {
        await SeedAsync(-100_220);
        var path = Path.Combine(Path.GetTempPath(), $"chatstats-chart-{Guid.NewGuid():N}.{extension}");
        try
        {
            var result = await ChatStatsProcess.RunAsync(Env(), "chart", kind, "--chat", "-100220", "--period", "2026-01", "--out", path);

            Assert.True(result.ExitCode == 0, result.Error);
            var bytes = await File.ReadAllBytesAsync(path);
            if (extension == "png")
            {
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
            }
            else
            {
                Assert.Equal("svg", System.Xml.Linq.XDocument.Parse(System.Text.Encoding.UTF8.GetString(bytes)).Root!.Name.LocalName);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("report", "report.docx", "--out must end in .pdf or .html (got report.docx)")]
    [InlineData("chart", "chart.jpg", "--out must end in .svg or .png (got chart.jpg)")]
    public async Task AnOutputFileOfAnotherKindIsRefusedNamingTheKindsTaken(string verb, string file, string said)
    {
        string[] args = verb == "chart" ? ["chart", "activity", "--chat", "-1", "--out", file] : ["report", "--chat", "-1", "--out", file];

        var result = await ChatStatsProcess.RunAsync(Env(), args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(said, result.Error);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task StatsAsTextListsKindsAndLeaders()
    {
        await SeedAsync(-100_201);

        var result = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "-100201");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("messages  3", result.Output);
        Assert.Contains("photo", result.Output);
        Assert.Contains(" 1. Ann & Co (700) 2", result.Output);
    }

    [Fact]
    public async Task AnUnknownChatIsExplained()
    {
        var result = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "42");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no chat 42 in the database", result.Error);
    }

    [Fact]
    public async Task BadArgumentsSayWhatIsExpected()
    {
        var result = await ChatStatsProcess.RunAsync(Env(), "stats", "--chat", "abc", "--format", "xml");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("abc", result.Error);
        Assert.Contains("xml", result.Error);
    }

    [Fact]
    public async Task AMissingTokenStopsStartUpWithOneLineNamingTheKey()
    {
        var env = Env();
        env.Remove("TELEGRAM_BOT_TOKEN");

        var result = await ChatStatsProcess.RunAsync(env, "bot");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("chatstats: configuration error: Telegram:BotToken: is missing. Create a bot with @BotFather", result.Error);
    }

    [Fact]
    public async Task ARejectedTokenStopsTheBotWithExitCodeThree()
    {
        var env = Env();
        env["TELEGRAM_BOT_TOKEN"] = "1:revoked";

        var result = await ChatStatsProcess.RunAsync(env, "bot");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("Telegram rejected the bot token", result.Output + result.Error);
    }

    [Fact]
    public async Task MigrateAppliesOnceAndThenSaysUpToDate()
    {
        var empty = await PostgresServer.CreateEmptyDatabaseAsync("cli_migrate");
        try
        {
            var first = await ChatStatsProcess.RunAsync(Env(empty), "migrate");
            var second = await ChatStatsProcess.RunAsync(Env(empty), "migrate");

            Assert.True(first.ExitCode == 0, first.Error);
            Assert.Matches(@"Applied \d+ migrations to .*_Initial", first.Output);
            Assert.DoesNotContain("fail", first.Output + first.Error);
            Assert.Contains("is up to date", second.Output);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(empty);
        }
    }

    [Fact]
    public async Task UpgradingFromTheOldJobQueueCarriesItsWaitingJobsIntoHangfire()
    {
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("cli_upgrade");
        try
        {
            // An installation as the last release left it: the old queue with work waiting, done work and a recurring job.
            await using (var db = PostgresServer.CreateContext(cs))
            {
                await Microsoft.EntityFrameworkCore.Infrastructure.AccessorExtensions.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>(db.Database)
                    .MigrateAsync("20261201225728_InboxRowsAndHandledUpdates");
            }
            await using (var connection = new NpgsqlConnection(cs))
            {
                await connection.OpenAsync();
                await using var insert = new NpgsqlCommand("""
                    INSERT INTO jobs.job (queue, type, args, state, max_attempts, run_at, created_at) VALUES
                      ('reports', 'report', '{"chatId": -100300, "period": "7d", "threadId": 12, "replyTo": 5, "language": "ru"}', 'enqueued', 3, now(), now()),
                      ('reports', 'report', '{"chatId": -100301, "period": "all"}', 'processing', 3, now() - interval '1 minute', now()),
                      ('default', 'digest', '{"chatId": -100302, "day": "2026-12-02"}', 'scheduled', 3, now() + interval '1 day', now()),
                      ('reports', 'report', '{"chatId": -100303, "period": "30d"}', 'succeeded', 3, now(), now()),
                      ('default', 'retention-purge', '{}', 'scheduled', 3, now() + interval '1 hour', now())
                    """, connection);
                await insert.ExecuteNonQueryAsync();
            }

            var upgrade = await ChatStatsProcess.RunAsync(Env(cs), "migrate");
            var again = await ChatStatsProcess.RunAsync(Env(cs), "migrate");

            Assert.True(upgrade.ExitCode == 0, upgrade.Output + upgrade.Error);
            // The job queue's replacement and every migration since.
            var since = ChatStats.Testing.PostgresServer.MigrationIds().SkipWhile(id => id != "20261201225728_InboxRowsAndHandledUpdates").Count() - 1;
            Assert.Contains($"Applied {Terminal.Count(since, "migration")}", upgrade.Output);
            Assert.Contains("Hangfire's schema is in place; 3 jobs carried over from the old job queue.", upgrade.Output);
            Assert.Contains("Hangfire's schema is in place.", again.Output);
            await using var check = new NpgsqlConnection(cs);
            await check.OpenAsync();
            async Task<string?> Scalar(string sql)
            {
                await using var cmd = new NpgsqlCommand(sql, check);
                return (await cmd.ExecuteScalarAsync())?.ToString();
            }
            Assert.Equal("Enqueued,Enqueued,Scheduled", await Scalar("SELECT string_agg(statename, ',' ORDER BY statename) FROM hangfire.job"));
            Assert.Equal("reports,reports", await Scalar("SELECT string_agg(queue, ',') FROM hangfire.jobqueue"));
            Assert.Equal("1", await Scalar("""SELECT count(*) FROM hangfire.job WHERE statename = 'Scheduled' AND invocationdata::text LIKE '%DigestJob%' AND arguments::text LIKE '%-100302%'"""));
            // Hangfire keeps each argument as a JSON string inside a JSON array: the report's fields, escaped, all carried.
            Assert.Equal("1", await Scalar("""SELECT count(*) FROM hangfire.job WHERE arguments::text LIKE '%ChatId\\":-100300,\\"Period\\":\\"7d\\",\\"ThreadId\\":12,\\"ReplyTo\\":5,\\"Language\\":\\"ru\\"%'"""));
            // Each carried report is again the one request of its chat and period, attached to its Hangfire job.
            Assert.Equal("-100300:7d,-100301:all", await Scalar("SELECT string_agg(chat_id || ':' || period, ',' ORDER BY chat_id DESC) FROM report_requests WHERE job_id IS NOT NULL"));
            Assert.Equal("False", await Scalar("SELECT to_regclass('legacy_jobs') IS NOT NULL"));
            Assert.Equal("0", await Scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'jobs'"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task DoctorChecksEachPartOnALine()
    {
        var result = await ChatStatsProcess.RunAsync(Env(), "doctor");

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("ok   settings", result.Output);
        Assert.Matches(@"ok   database\s+PostgreSQL \d+", result.Output);
        Assert.Matches(@"ok   migrations   \d+ applied, none pending", result.Output);
        Assert.Contains($"ok   token        @{FakeBotApi.BotUsername}", result.Output);
        Assert.Contains("ok   charts       PNG charts drawn in process (SkiaSharp)", result.Output);
        Assert.Contains("ok   ai           no model configured (Ai:Endpoint, OPENAI_BASE_URL): /summary answers with the summary computed here", result.Output);
        // No worker runs here: doctor says so, as a warning (the bot alone still answers everything but reports).
        Assert.Matches(@"warn workers\s+.*reports", result.Output);
    }

    [Fact]
    public async Task DoctorAsksTheModelAndSaysWhatToFix()
    {
        await using var ai = await FakeOpenAi.StartAsync();
        ai.RequiredKey = "sk-right";
        Dictionary<string, string> With(string key) => new(Env())
        {
            ["OPENAI_BASE_URL"] = ai.BaseUrl,
            ["OPENAI_API_KEY"] = key,
            ["OPENAI_MODEL"] = FakeOpenAi.Model,
        };

        var good = await ChatStatsProcess.RunAsync(With("sk-right"), "doctor");
        var badKey = await ChatStatsProcess.RunAsync(With("sk-wrong"), "doctor");

        Assert.True(good.ExitCode == 0, good.Output + good.Error);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(good.Output, $@"ok   ai\s+{FakeOpenAi.Model} at {ai.BaseUrl} answered in [\d,.]+ ms"), good.Output);
        Assert.Equal(1, badKey.ExitCode);
        Assert.Contains($"FAIL ai           {FakeOpenAi.Model} at {ai.BaseUrl}: the provider refused the API key (HTTP 401); check Ai:ApiKey (OPENAI_API_KEY)", badKey.Output);
        Assert.Equal(2, ai.Requests.Count);
        Assert.DoesNotContain("sk-wrong", badKey.Output);
    }

    [Fact]
    public async Task DoctorSaysWhatToDoWhenTheDatabaseIsDown()
    {
        var down = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Port = 1, Timeout = 2 }.ConnectionString;

        var result = await ChatStatsProcess.RunAsync(Env(down), "doctor");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL database     cannot connect to", result.Output);
        Assert.Contains("Is PostgreSQL running?", result.Output);
    }
}
