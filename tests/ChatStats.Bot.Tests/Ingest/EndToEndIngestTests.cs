using ChatStats.Bot.Ingest;
using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Bot.Tests.Ingest;

/// <summary>Updates through the fake Bot API, the real poller and ingest, into PostgreSQL.</summary>
public sealed class EndToEndIngestTests : IAsyncLifetime
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

    private Task AssertRecordedExactlyAsync(Traffic traffic) => _db.AssertRecordedExactlyAsync(traffic);

    [Fact]
    public async Task TenThousandVariedUpdatesAreRecordedExactlyOnce()
    {
        var traffic = Traffic.Generate(10_000);
        var ids = _api.AddUpdates(traffic.Updates);
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString);

        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM messages") >= traffic.MessageRows, "the last batch");

        await AssertRecordedExactlyAsync(traffic);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM dead_letters"));
        Assert.True(traffic.Edits > 500, "the traffic must exercise edits");
    }

    [Fact]
    public async Task StoppingBetweenFetchAndCommitLosesAndDoublesNothing()
    {
        var traffic = Traffic.Generate(3_000, seed: 11);
        var ids = _api.AddUpdates(traffic.Updates);

        // First run: stopped while batch 6 is fetched but not yet written.
        var crash = new CrashSwitch(crashOnBatch: 6, afterCommit: false);
        await using (var first = await BotHarness.StartAsync(_api, _db.ConnectionString, services: crash.Install))
        {
            await crash.Reached.Task.WaitAsync(BotHarness.Patience);
            await first.StopAsync();
        }
        // Five batches were made durable (received into the inbox, perhaps recorded already); the sixth was not confirmed.
        Assert.True(_api.ConfirmedBelow <= ids[500], $"confirmed below {_api.ConfirmedBelow}");
        Assert.True(await _db.ScalarAsync<long>("SELECT (SELECT count(*) FROM update_inbox) + (SELECT count(*) FROM messages)") > 0);

        // Second run: stopped after batch 4 is committed but before its offset is confirmed, so it is delivered again.
        var crashAfterCommit = new CrashSwitch(crashOnBatch: 4, afterCommit: true);
        await using (var second = await BotHarness.StartAsync(_api, _db.ConnectionString, services: crashAfterCommit.Install))
        {
            await crashAfterCommit.Reached.Task.WaitAsync(BotHarness.Patience);
            await second.StopAsync();
        }

        await using var third = await BotHarness.StartAsync(_api, _db.ConnectionString);
        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM messages") >= traffic.MessageRows, "the last batch");

        await AssertRecordedExactlyAsync(traffic);
    }

    [Fact]
    public async Task APoisonedUpdateIsDeadLetteredAndTheRestRecorded()
    {
        var traffic = Traffic.Generate(500, seed: 3);
        var poison = Traffic.Poison(new FakeChat(-1_000_000_000_000, "Chat 0"));
        _api.AddUpdates(traffic.Updates.Take(250));
        var poisonIds = _api.AddUpdates(poison);
        var ids = _api.AddUpdates(traffic.Updates.Skip(250));
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString);

        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM messages") >= traffic.MessageRows, "the last batch");

        await AssertRecordedExactlyAsync(traffic);
        Assert.Equal(string.Join(",", poisonIds), await _db.ScalarAsync<string>("SELECT string_agg(update_id::text, ',' ORDER BY update_id) FROM dead_letters"));
        Assert.Contains("far future", await _db.ScalarAsync<string>("SELECT payload FROM dead_letters WHERE update_id = $1", poisonIds[0]));
        Assert.Contains("unreadable update", await _db.ScalarAsync<string>("SELECT error FROM dead_letters WHERE update_id = $1", poisonIds[0]));
        Assert.Contains("\"two\"", await _db.ScalarAsync<string>("SELECT payload FROM dead_letters WHERE update_id = $1", poisonIds[1]));
        Assert.Contains("story_of_the_future", await _db.ScalarAsync<string>("SELECT payload FROM dead_letters WHERE update_id = $1", poisonIds[2]));
        Assert.Contains("story_of_the_future", await _db.ScalarAsync<string>("SELECT error FROM dead_letters WHERE update_id = $1", poisonIds[2]));
    }

    [Fact]
    public async Task ADatabaseOutageMidStreamLosesNothing()
    {
        var traffic = Traffic.Generate(4_000, seed: 5);
        var builder = new NpgsqlConnectionStringBuilder(_db.ConnectionString);
        await using var proxy = new TcpProxy(builder.Host!, builder.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        var firstHalf = _api.AddUpdates(traffic.Updates.Take(2_000));
        await using var bot = await BotHarness.StartAsync(_api, viaProxy);
        await _api.WaitUntilConfirmedAsync(firstHalf[^1] - 1, BotHarness.Patience);

        proxy.Cut();
        var secondHalf = _api.AddUpdates(traffic.Updates.Skip(2_000));
        var poller = bot.Get<LongPoller>();
        await Eventually.TrueAsync(() => Task.FromResult(poller.HandlerFailures >= 1), "the poller noticing the outage");
        var confirmedDuringOutage = _api.ConfirmedBelow;
        // Two more failed attempts to store the batch, and still nothing more confirmed.
        await Eventually.TrueAsync(() => Task.FromResult(poller.HandlerFailures >= 3), "the poller retrying through the outage");
        Assert.Equal(confirmedDuringOutage, _api.ConfirmedBelow);
        Assert.True(confirmedDuringOutage <= secondHalf[0] + 100, "at most the batch fetched before the outage may be confirmed");

        proxy.Restore();
        await _api.WaitUntilConfirmedAsync(secondHalf[^1] - 1, BotHarness.Patience);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM messages") >= traffic.MessageRows, "catching up");

        await AssertRecordedExactlyAsync(traffic);
    }

    [Fact]
    public async Task UpdatesReceivedButNotYetRecordedAreRecordedAfterARestart()
    {
        var traffic = Traffic.Generate(1_500, seed: 13);
        var id = 0L;
        await using (var cmd = _db.DataSource.CreateCommand(
            "INSERT INTO update_inbox (first_update_id, last_update_id, update_count, payload, received_at) VALUES ($1, $2, $3, $4, now())"))
        {
            var first = cmd.Parameters.Add(new NpgsqlParameter<long>());
            var last = cmd.Parameters.Add(new NpgsqlParameter<long>());
            var count = cmd.Parameters.Add(new NpgsqlParameter<int>());
            var payload = cmd.Parameters.Add(new NpgsqlParameter<byte[]>());
            foreach (var chunk in traffic.Updates.Chunk(100))
            {
                first.Value = id + 1;
                var json = chunk.Select(u => "{\"update_id\":" + ++id + "," + u[1..]);
                last.Value = id;
                count.Value = chunk.Length;
                payload.Value = System.Text.Encoding.UTF8.GetBytes("[" + string.Join(",", json) + "]");
                await cmd.ExecuteNonQueryAsync();
            }
        }

        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM update_inbox") == 0, "the inbox to drain");

        await AssertRecordedExactlyAsync(traffic);
    }

    [Fact]
    public async Task AnUpdateTheDatabaseRefusesIsDeadLetteredAndTheRestOfItsChunkRecorded()
    {
        var group = new FakeChat(-4_100, "Small", "group");
        var super = new FakeChat(-100_4100, "Small");
        var ann = new FakeUser(801, "Ann");
        var before = _api.AddUpdates([
            UpdateFactory.Message(group, 1, ann, UpdateFactory.BaseDate, "one"),
            UpdateFactory.Service(group, 2, ann, UpdateFactory.BaseDate + 1, "migrate_to_chat_id", System.Text.Json.Nodes.JsonValue.Create(super.Id)),
        ]);
        await using var bot = await BotHarness.StartAsync(_api, _db.ConnectionString);
        await _api.WaitUntilConfirmedAsync(before[^1] - 1, BotHarness.Patience);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE migrated_to_chat_id IS NOT NULL") == 1, "the migration");

        // Moved into the supergroup, an old-chat message id is negated; this one has no negation in a 32-bit integer.
        var ids = _api.AddUpdates([
            UpdateFactory.Message(super, 3, ann, UpdateFactory.BaseDate + 2, "fine"),
            UpdateFactory.Message(group, int.MinValue, ann, UpdateFactory.BaseDate + 3, "refused"),
            UpdateFactory.Message(super, 4, ann, UpdateFactory.BaseDate + 4, "also fine"),
        ]);
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM dead_letters") == 1, "the dead letter");
        await Eventually.TrueAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM update_inbox") == 0, "the inbox to drain");

        Assert.Equal(ids[1], await _db.ScalarAsync<long>("SELECT update_id FROM dead_letters"));
        Assert.Contains("out of range", await _db.ScalarAsync<string>("SELECT error FROM dead_letters"));
        Assert.Contains("\"refused\"", await _db.ScalarAsync<string>("SELECT payload FROM dead_letters"));
        Assert.Equal("-1,3,4", await _db.ScalarAsync<string>("SELECT string_agg(message_id::text, ',' ORDER BY message_id) FROM messages"));
        Assert.Equal(3, await _db.ScalarAsync<long>("SELECT sum(messages) FROM chat_user_hourly"));
    }

    /// <summary>Stops the host at a chosen batch, before or after it is committed.</summary>
    private sealed class CrashSwitch(int crashOnBatch, bool afterCommit)
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int CrashOnBatch => crashOnBatch;
        public bool AfterCommit => afterCommit;

        public void Install(IServiceCollection services) =>
            services.AddSingleton<IUpdateInbox>(sp => new Inbox(sp.GetRequiredService<InboxWriter>(), this));

        private sealed class Inbox(InboxWriter inner, CrashSwitch owner) : IUpdateInbox
        {
            private int _batches;

            public async Task StoreAsync(UpdateBatch batch, CancellationToken ct)
            {
                if (++_batches == owner.CrashOnBatch)
                {
                    if (owner.AfterCommit)
                    {
                        await inner.StoreAsync(batch, ct);
                    }
                    owner.Reached.TrySetResult();
                    await Task.Delay(Timeout.Infinite, ct);
                }
                await inner.StoreAsync(batch, ct);
            }

            public Task StoreUnreadableAsync(ReadOnlyMemory<byte> body, string reason, CancellationToken ct) => inner.StoreUnreadableAsync(body, reason, ct);
        }
    }
}
