using ChatStats.Bot.Jobs;
using ChatStats.Bot.Reports;
using ChatStats.Testing;
using Hangfire;
using Npgsql;

namespace ChatStats.Bot.Tests.Database;

/// <summary>
/// The bounded database pools under load: the application's (Database:MaxPoolSize), recording's
/// (Database:IngestPoolSize) and Hangfire's own (Jobs:MaxConnections) hold, callers wait rather than fail, and a caller who waits too long hears "busy".
/// </summary>
public sealed class PoolTests : IAsyncLifetime
{
    private const string App = "chatstats-pool-test";
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

    private Task<BotHarness> StartAsync(int timeoutSeconds, bool worker = true) => BotHarness.StartAsync(_api, $"{_db.ConnectionString};Application Name={App}", worker: worker,
        settings: new Dictionary<string, string?>
        {
            ["Database:MaxPoolSize"] = "10",
            ["Database:ConnectionTimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Ingest:MaxConcurrentUpdates"] = "200",
            ["Limits:MaxConcurrentGlobal"] = "1000",
            ["Limits:MaxQueueSizeGlobal"] = "1000",
            ["Limits:Tiers:FREE:PerSecond"] = "1000",
            ["Limits:Tiers:FREE:Burst"] = "1000",
            ["Limits:Tiers:FREE:PerMinute"] = "100000",
            ["Limits:Tiers:FREE:PerHour"] = "1000000",
            ["Sender:GlobalPerSecond"] = "1000",
            ["Jobs:MaxConnections"] = "5",
            ["Jobs:QueuePollIntervalMilliseconds"] = "100",
        });

    [Fact]
    public async Task TwoHundredHandlersAndFourReportsStayWithinBothPoolsAndAllAreAnswered()
    {
        await using var bot = await StartAsync(timeoutSeconds: 30);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var chats = Enumerable.Range(0, 200).Select(i => new FakeChat(-100_500_000 - i, $"Pool chat {i}")).ToList();
        _api.AddUpdates([.. chats.Select((c, i) => UpdateFactory.Message(c, 1, new FakeUser(50_000 + i, $"Member {i}"), now - 60, "warming up the chat"))]);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM chats") == 200, "the chats to be recorded");

        // Both pools of this database, by the application name each gives its connections.
        var database = new NpgsqlConnectionStringBuilder(_db.ConnectionString).Database!;
        var (appPeak, ingestPeak, jobsPeak, totalPeak) = (0L, 0L, 0L, 0L);
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            await using var admin = new NpgsqlConnection(_db.ConnectionString);
            await admin.OpenAsync();
            while (!sampling.IsCancellationRequested)
            {
                await using var cmd = new NpgsqlCommand("""
                    SELECT count(*) FILTER (WHERE application_name = @app), count(*) FILTER (WHERE application_name = @jobs),
                           count(*) FILTER (WHERE application_name = @app || '-ingest')
                    FROM pg_stat_activity WHERE datname = @db
                    """, admin);
                cmd.Parameters.Add(new NpgsqlParameter<string>("app", App));
                cmd.Parameters.Add(new NpgsqlParameter<string>("jobs", JobsDataSource.ApplicationName));
                cmd.Parameters.Add(new NpgsqlParameter<string>("db", database));
                await using var reader = await cmd.ExecuteReaderAsync();
                await reader.ReadAsync();
                var (app, jobs, ingest) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
                (appPeak, ingestPeak, jobsPeak, totalPeak) = (Math.Max(appPeak, app), Math.Max(ingestPeak, ingest), Math.Max(jobsPeak, jobs), Math.Max(totalPeak, app + jobs + ingest));
                await Task.Delay(10);
            }
        });
        var client = bot.Get<IBackgroundJobClient>();
        for (var i = 0; i < 4; i++)
        {
            var args = new ReportArgs(chats[i].Id, "all", null, null, "en");
            client.Enqueue<ReportJob>(ReportJob.Queue, j => j.RunAsync(args, null, CancellationToken.None));
        }
        _api.AddUpdates([.. chats.Select((c, i) => UpdateFactory.Message(c, 2, new FakeUser(50_000 + i, $"Member {i}"), now, "/stats all"))]);

        var replies = await _api.WaitForSentAsync(s => s.Method == "sendMessage" && s.ChatId <= -100_500_000, 200, TimeSpan.FromSeconds(120));
        await _api.WaitForSentAsync(s => s.Method == "sendDocument", 4, TimeSpan.FromSeconds(120));
        await sampling.CancelAsync();
        await sampler;

        Assert.InRange(appPeak, 1, 10);
        Assert.InRange(ingestPeak, 1, 3);
        Assert.InRange(jobsPeak, 1, 5);
        Assert.InRange(totalPeak, 3, 18);
        Assert.All(replies, r => Assert.Contains("Messages: 2", r.Text));
    }

    [Fact]
    public async Task BothPoolsStartTheirSessionsWithoutJitOrParallelWorkersAndKeepThatAfterAReset()
    {
        await using var bot = await StartAsync(timeoutSeconds: 30, worker: false);

        foreach (var dataSource in new[] { bot.Get<NpgsqlDataSource>(), bot.Host.Services.GetRequiredKeyedService<NpgsqlDataSource>(ChatStats.Bot.Data.DatabaseExtensions.IngestPool) })
        {
            for (var use = 0; use < 2; use++)
            {
                // The second use takes the same physical connection back from the pool, after Npgsql's reset of it.
                await using var connection = await dataSource.OpenConnectionAsync();
                if (use == 0)
                {
                    await using var set = new NpgsqlCommand("SET jit = on", connection);
                    await set.ExecuteNonQueryAsync();
                    continue;
                }
                await using var show = new NpgsqlCommand("SELECT current_setting('jit') || ' ' || current_setting('max_parallel_workers_per_gather')", connection);
                Assert.Equal("off 0", (string?)await show.ExecuteScalarAsync());
            }
        }
    }

    [Fact]
    public async Task ACommandThatCannotGetAConnectionInTimeIsToldTheDatabaseIsBusy()
    {
        await using var bot = await StartAsync(timeoutSeconds: 2, worker: false);
        var chat = new FakeChat(-100_600_001, "Starved");
        _api.AddUpdate(UpdateFactory.Message(chat, 1, new FakeUser(60_001, "Ann"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), "hello"));
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE id = $1", chat.Id) == 1, "the chat to be recorded");

        // Every pooled connection is taken (by the test, standing in for a flood: it takes whatever the bot's own
        // background work leaves), then a command arrives. Background work can free a connection at the wrong moment
        // and let the command through, so the attempt is repeated until the command finds the pool empty.
        var dataSource = bot.Get<NpgsqlDataSource>();
        for (var attempt = 0; attempt < 5 && !_api.Sent.Any(s => s.ChatId == chat.Id && s.Text.Contains("busy", StringComparison.Ordinal)); attempt++)
        {
            var held = new List<NpgsqlConnection>();
            try
            {
                while (true)
                {
                    try
                    {
                        held.Add(await dataSource.OpenConnectionAsync());
                    }
                    catch (NpgsqlException)
                    {
                        break;
                    }
                }
                var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(chat, 2 + attempt, new FakeUser(60_001, "Ann"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), "/stats"))!.AsObject();
                node["update_id"] = 99 + attempt;
                var update = UpdateFactory.Read(node);
                using var scope = bot.Host.Services.CreateScope();
                var handler = scope.ServiceProvider.GetRequiredService<ChatStats.Bot.Commands.IUpdateHandler>();
                try
                {
                    await handler.HandleAsync([update], CancellationToken.None);
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
                {
                    // Expected (EF wraps the pool's timeout): the dispatcher dead-letters the update after the person was told.
                }
            }
            finally
            {
                foreach (var connection in held)
                {
                    await connection.DisposeAsync();
                }
            }
        }

        Assert.Contains(_api.Sent, s => s.ChatId == chat.Id && s.Text == "The database is busy right now. Try again in a few seconds.");
        Assert.DoesNotContain(_api.Sent, s => s.ChatId == chat.Id && s.Text.StartsWith("Something went wrong", StringComparison.Ordinal));
    }
}
