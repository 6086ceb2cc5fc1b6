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
        // --keep-seed: the big chat is seeded once into a database kept on the server (steady_seed_N), and each run
        // works on a copy of it; seeding 10M messages takes most of an hour here, a copy a minute.
        var cs = args.Contains("--keep-seed") ? await SeededCopyAsync(botDir, messages) : await SeededAsync(botDir, messages);
        await using var dataSource = NpgsqlDataSource.Create(cs);
        // A database that has been running for months has no seeding behind it: the rollups' statistics are fresh and
        // the gigabytes just written are on disk before the load starts, not flushed by a checkpoint in the middle of it
        // (suspected of much of the first 10M run's slowness: its load began the moment seeding ended).
        var settling = Stopwatch.StartNew();
        await SettleAsync(dataSource);
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
            LoadSampler? sampler = null;
            for (var t = 0; t < ticks; t++)
            {
                if (t == warmup)
                {
                    warm = await BotMetrics.ReadAsync(webPort);
                    sampler = LoadSampler.Start(webPort, dataSource);
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
            var samples = sampler is null ? null : await sampler.StopAsync();
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
            Console.WriteLine();
            Console.WriteLine("Where the time went, over the same window:");
            Console.WriteLine();
            Console.WriteLine("| histogram | observations | p50 ms | p95 ms | p99 ms |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var (histogram, label) in new (string, string?)[]
            {
                ("chatstats_reply_yield_wait_seconds", null), ("chatstats_handler_duration_seconds", null),
                ("chatstats_ingest_process_duration_seconds", null), ("chatstats_ingest_latency_seconds", null),
                ("chatstats_throttling_queue_wait_seconds", null),
            }.Concat(metrics.ByLabel("chatstats_db_query_duration_seconds_count", "query", warm!).Keys.Order(StringComparer.Ordinal)
                .Select(q => ("chatstats_db_query_duration_seconds", (string?)q))))
            {
                var filter = label is null ? null : $"query=\"{label}\"";
                var count = label is null ? metrics.Sum(histogram + "_count") - warm!.Sum(histogram + "_count")
                    : metrics.ByLabel(histogram + "_count", "query", warm!)[label];
                string Ms(double q) => (metrics.Quantile(histogram, q, filter, warm) * 1000).ToString("N0", CultureInfo.InvariantCulture);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {histogram}{(label is null ? "" : $"{{query=\"{label}\"}}")} | {count:N0} | {Ms(0.5)} | {Ms(0.95)} | {Ms(0.99)} |"));
            }
            samples?.Print();
            return 0;
        }
        finally
        {
            IngestLoadRun.Stop(bot);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    /// <summary>A fresh database with the big chat seeded, its words folded and packed.</summary>
    private static async Task<string> SeededAsync(string botDir, int messages, string prefix = "steady")
    {
        var cs = await PostgresServer.CreateEmptyDatabaseAsync(prefix);
        await IngestLoadRun.MigrateAsync(botDir, cs);
        await using var dataSource = NpgsqlDataSource.Create(cs);
        var seeding = Stopwatch.StartNew();
        await StatsLoadRun.SeedAsync(dataSource, messages, StatsLoadRun.Members);
        await ChatStats.Bot.Data.WordRollup.FoldAsync(dataSource, CancellationToken.None);
        await ChatStats.Bot.Data.WordRollup.PackAsync(dataSource, DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"big chat: {messages:N0} messages seeded, words folded and packed in {seeding.Elapsed.TotalSeconds:F0} s"));
        return cs;
    }

    /// <summary>
    /// A copy of the kept seed for <paramref name="messages"/>, made first when the server has none. The seed is renamed
    /// into place only once whole, so an interrupted seeding is started over; the copy is migrated, so a seed made
    /// before a new migration still serves.
    /// </summary>
    private static async Task<string> SeededCopyAsync(string botDir, int messages)
    {
        var seed = $"steady_seed_{messages}";
        await using var admin = new NpgsqlConnection(PostgresServer.AdminConnectionString);
        await admin.OpenAsync();
        async Task<object?> Run(string sql)
        {
            await using var cmd = new NpgsqlCommand(sql, admin) { CommandTimeout = 0 };
            return await cmd.ExecuteScalarAsync();
        }
        if (await Run($"SELECT 1 FROM pg_database WHERE datname = '{seed}'") is null)
        {
            // What an interrupted seeding left behind.
            if (await Run("SELECT string_agg(format('DROP DATABASE %I WITH (FORCE);', datname), ' ') FROM pg_database WHERE datname LIKE 'steady\\_seeding\\_%'") is string leftovers)
            {
                foreach (var drop in leftovers.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    await Run(drop);
                }
            }
            var fresh = await SeededAsync(botDir, messages, "steady_seeding");
            await using (var dataSource = NpgsqlDataSource.Create(fresh))
            {
                await SettleAsync(dataSource);
            }
            NpgsqlConnection.ClearAllPools();
            await Run($"ALTER DATABASE \"{new NpgsqlConnectionStringBuilder(fresh).Database}\" RENAME TO \"{seed}\"");
        }
        else
        {
            Console.WriteLine($"big chat: copying the kept seed {seed}");
        }
        var copying = Stopwatch.StartNew();
        var name = $"steady_{Guid.NewGuid():N}";
        // FILE_COPY: the files copied after a checkpoint, not every page through the WAL (PostgreSQL 15's default).
        await Run($"CREATE DATABASE \"{name}\" TEMPLATE \"{seed}\" STRATEGY = FILE_COPY");
        var cs = new NpgsqlConnectionStringBuilder(PostgresServer.AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
        await IngestLoadRun.MigrateAsync(botDir, cs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"copied and migrated in {copying.Elapsed.TotalSeconds:F0} s"));
        return cs;
    }

    private static async Task SettleAsync(NpgsqlDataSource dataSource)
    {
        foreach (var sql in new[] { "VACUUM ANALYZE", "CHECKPOINT" })
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var settle = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await settle.ExecuteNonQueryAsync();
        }
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM messages");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

/// <summary>
/// What the bot and the database were doing during a load run, read every two seconds: the answers running and waiting,
/// the inbox's backlog, requests waiting for a connection by pool, the process's CPU and thread-pool queue, and the
/// statements PostgreSQL had been running for more than half a second (with their wait events). The bot's histograms
/// say how long things took; this says what was queued behind what, and when.
/// </summary>
internal sealed class LoadSampler
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _rows = [];
    private readonly Dictionary<string, (int Seen, double LongestSeconds, string Waits)> _statements = [];
    private Task? _loop;

    public static LoadSampler Start(int webPort, NpgsqlDataSource dataSource)
    {
        var sampler = new LoadSampler();
        sampler._loop = sampler.LoopAsync(webPort, dataSource);
        return sampler;
    }

    public async Task<LoadSampler> StopAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop!;
        }
        catch (OperationCanceledException)
        {
        }
        return this;
    }

    private async Task LoopAsync(int webPort, NpgsqlDataSource dataSource)
    {
        var started = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            var m = await BotMetrics.ReadAsync(webPort);
            string Pools(string name) => string.Join(" ", m.ByLabel(name, "db_client_connection_pool_name").OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key.Split('-').Last()}={p.Value:0}")));
            var active = 0;
            await using (var cmd = dataSource.CreateCommand("""
                SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 110), extract(epoch FROM now() - query_start)::float8, coalesce(wait_event_type || ':' || wait_event, 'cpu')
                FROM pg_stat_activity
                WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND now() - query_start > interval '500 milliseconds'
                """))
            await using (var reader = await cmd.ExecuteReaderAsync(_stop.Token))
            {
                while (await reader.ReadAsync(_stop.Token))
                {
                    active++;
                    var (sql, seconds, wait) = (reader.GetString(0), reader.GetDouble(1), reader.GetString(2));
                    var seen = _statements.GetValueOrDefault(sql);
                    _statements[sql] = (seen.Seen + 1, Math.Max(seen.LongestSeconds, seconds), seen.Waits is null || seen.Waits.Contains(wait, StringComparison.Ordinal) ? seen.Waits ?? wait : seen.Waits + " " + wait);
                }
            }
            _rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} | {m.Sum("chatstats_dispatch_running"):0} | {m.Sum("chatstats_dispatch_waiting"):0} | {m.Sum("chatstats_sender_waiting"):0} | {m.Sum("chatstats_inbox_backlog"):N0} | {Pools("db_client_connection_npgsql_pending_requests")} | {m.Sum("chatstats_load_cpu"):0} | {m.Sum("chatstats_load_threadpool_queue"):0} | {active} |"));
        }
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine("Every two seconds of the measured window:");
        Console.WriteLine();
        Console.WriteLine("| s | answers running | waiting | sends waiting | inbox backlog | waiting for a connection, by pool | bot CPU % | thread-pool queue | statements active > 0.5 s |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        _rows.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine("Statements seen running for more than 0.5 s (longest first):");
        Console.WriteLine();
        Console.WriteLine("| statement | samples | longest s | waits |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (sql, (seen, longest, waits)) in _statements.OrderByDescending(p => p.Value.LongestSeconds).Take(15))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| `{sql.Replace("|", "\\|", StringComparison.Ordinal)}` | {seen} | {longest:F1} | {waits} |"));
        }
    }
}
