using System.Diagnostics;
using System.Globalization;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// What a member waits for an answer while the bot records a busy day: the bot as deployed (a child process) against
/// the Bot API stand-in (Telegram's limits, network delays), a big chat of N messages (seeded as in the stats load run),
/// then for a while a steady stream of messages across hundreds of groups while members ask statistics commands — in
/// the big chat at about Telegram's pace for a group, and in the small ones. Per command, from the bot's own
/// histograms: the time from the question's turn in its chat to the reply's send call, outside waits for Telegram's
/// limits (reported apart), and the wait behind earlier answers in the same chat; the first seconds, while the process
/// warms up, are left out.
/// </summary>
internal static class SteadyLoadRun
{
    private static readonly string[] Commands = ["/stats", "/top", "/words", "/activity", "/history", "/me", "/stats all", "/words all", "/top 7d", "/me 30d"];

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = IngestLoadRun.Option(args, "--messages", 1_000_000);
        var seconds = IngestLoadRun.Option(args, "--seconds", 60);
        var rate = IngestLoadRun.Option(args, "--rate", 5_000);
        var groups = IngestLoadRun.Option(args, "--groups", 300);
        // Commands per second over all groups; the big chat gets one every 4 s (15 a minute: inside Telegram's 20).
        var commandRate = IngestLoadRun.Option(args, "--commands-per-second", 10);
        IngestLoadRun.UseBenchServer();
        var botDir = AppContext.BaseDirectory;
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("steady");
        await IngestLoadRun.MigrateAsync(botDir, cs);
        await using var dataSource = NpgsqlDataSource.Create(cs);
        var seeding = Stopwatch.StartNew();
        await StatsLoadRun.SeedAsync(dataSource, messages, StatsLoadRun.Members);
        await ChatStats.Bot.Data.WordRollup.FoldAsync(dataSource, CancellationToken.None);
        await ChatStats.Bot.Data.WordRollup.PackAsync(dataSource, DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"big chat: {messages:N0} messages seeded, words folded and packed in {seeding.Elapsed.TotalSeconds:F0} s"));
        // A database that has been running for months has no seeding behind it: the rollups' statistics are fresh and
        // the gigabytes just written are on disk before the load starts, not flushed by a checkpoint in the middle of it
        // (suspected of much of the first 10M run's slowness: its load began the moment seeding ended).
        var settling = Stopwatch.StartNew();
        foreach (var sql in new[] { "VACUUM ANALYZE", "CHECKPOINT" })
        {
            await using var settle = new NpgsqlCommand(sql, await dataSource.OpenConnectionAsync()) { CommandTimeout = 0 };
            await settle.ExecuteNonQueryAsync();
            await settle.Connection!.DisposeAsync();
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"settled (VACUUM ANALYZE, CHECKPOINT) in {settling.Elapsed.TotalSeconds:F0} s"));

        await using var api = await FakeBotApi.StartAsync();
        api.Limits = new FakeLimits();
        api.NetworkDelay = (TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(60));
        var webPort = IngestLoadRun.FreePort();
        using var bot = IngestLoadRun.StartBot(botDir, "run", cs, new Dictionary<string, string>
        {
            ["Web__Urls"] = $"http://127.0.0.1:{webPort}",
            ["TELEGRAM_API_BASE_URL"] = api.BaseUrl,
        }, echo: false);
        try
        {
            var big = new FakeChat(StatsLoadRun.ChatId, "Big chat");
            var small = Enumerable.Range(0, groups).Select(g => new FakeChat(-100_800_000 - g, $"Group {g}")).ToList();
            var random = new Random(7);
            FakeUser Member() => new(1_000_001 + random.Next(StatsLoadRun.Members), "Member");
            var messageIds = new Dictionary<long, int>();
            var date = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            string Message(FakeChat chat, string text)
            {
                var id = messageIds[chat.Id] = messageIds.GetValueOrDefault(chat.Id, 2_000_000_000 - 1_000_000) + 1;
                return UpdateFactory.Message(chat, id, Member(), date, text);
            }
            string[] words = ["pizza", "meeting", "tomorrow", "release", "привет", "погода", "weekend", "coffee", "deploy", "花火"];
            string Chatter() => string.Join(' ', Enumerable.Range(0, 6).Select(_ => words[random.Next(words.Length)]));

            var before = await CountAsync(dataSource);
            var asked = 0;
            var started = Stopwatch.GetTimestamp();
            var tick = TimeSpan.FromMilliseconds(100);
            // The first seconds warm the process (code compiled, caches filled): measured from the reading taken after them.
            var warmup = Math.Min(15, seconds / 4) * 10;
            var ticks = seconds * 10 + warmup;
            BotMetrics? warm = null;
            for (var t = 0; t < ticks; t++)
            {
                if (t == warmup)
                {
                    warm = await BotMetrics.ReadAsync(webPort);
                }
                var updates = new List<string>(rate / 10 + 10);
                for (var i = 0; i < rate / 10; i++)
                {
                    // A twentieth of the traffic in the big chat, the rest spread over the groups.
                    updates.Add(Message(random.Next(20) == 0 ? big : small[random.Next(groups)], Chatter()));
                }
                if (t % 40 == 0)
                {
                    updates.Add(Message(big, Commands[random.Next(Commands.Length)]));
                    asked++;
                }
                for (var i = 0; i < commandRate / 10; i++)
                {
                    updates.Add(Message(small[random.Next(groups)], Commands[random.Next(Commands.Length)]));
                    asked++;
                }
                api.AddUpdates(updates);
                date += t % 10 == 9 ? 1 : 0;
                var due = started + (long)((t + 1) * tick.TotalSeconds * Stopwatch.Frequency);
                if (due - Stopwatch.GetTimestamp() is var wait and > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                }
            }
            var offered = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var expected = before + (long)ticks * (rate / 10) + asked;
            await IngestLoadRun.WaitAsync(() => CountAsync(dataSource).GetAwaiter().GetResult() >= expected, bot, TimeSpan.FromMinutes(5));
            var recorded = Stopwatch.GetElapsedTime(started).TotalSeconds;

            // Let the answers out, then read the bot's histograms.
            var metrics = await BotMetrics.WhenAnsweredAsync(webPort, TimeSpan.FromMinutes(3));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"offered {(expected - before) / offered:N0} updates/s for {offered:F0} s ({asked:N0} commands; the first {warmup / 10} s warm-up, not in the table); all recorded {recorded - offered:F1} s after the last was handed over; {api.Sent.Count:N0} sends, {api.TooManyRequests} refused with 429"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| command ({messages:N0}-message chat and {groups} groups, {rate:N0} updates/s) | answers | p50 ms | p95 ms | p99 ms | wait behind earlier answers in its chat, p95 ms | wait for Telegram's limits, p95 ms |"));
            Console.WriteLine("|---|---|---|---|---|---|---|");
            var counts = metrics.ByLabel("chatstats_reply_latency_seconds_count", "command", warm!);
            foreach (var command in counts.Keys.Order(StringComparer.Ordinal).Append(null))
            {
                var filter = command is null ? null : $"command=\"{command}\"";
                string Ms(string histogram, double q) => (metrics.Quantile(histogram, q, filter, warm) * 1000).ToString("N0", CultureInfo.InvariantCulture);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {(command is null ? "all commands" : "/" + command)} | {(command is null ? counts.Values.Sum() : counts[command]):N0} | {Ms("chatstats_reply_latency_seconds", 0.5)} | {Ms("chatstats_reply_latency_seconds", 0.95)} | {Ms("chatstats_reply_latency_seconds", 0.99)} | {Ms("chatstats_reply_chat_queue_wait_seconds", 0.95)} | {Ms("chatstats_reply_limit_wait_seconds", 0.95)} |"));
            }
            return 0;
        }
        finally
        {
            IngestLoadRun.Stop(bot);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM messages");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
