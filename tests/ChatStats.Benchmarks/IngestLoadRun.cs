using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// Fake Bot API (this process) → chatstats bot (a child process, as deployed) → PostgreSQL. Throughput is measured
/// from the first delivered batch to the last message row, and every row is checked. With <c>--against-bot DIR</c> a
/// second build (another commit's chatstats.dll, on a database migrated by that build) runs interleaved with this one,
/// so both are compared on the same machine in the same minutes. The baseline is this build's poller against a no-op
/// inbox: the ceiling the fake API and the HTTP/JSON path allow here. The poll-loop anatomy then takes one batch's time
/// apart — round trip, insert, the server's compression of the payload, the wait for the commit's flush — by timing each
/// on its own against the same database with the same payloads.
/// </summary>
internal static class IngestLoadRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var updates = Option(args, "--updates", 200_000);
        var runs = Option(args, "--runs", 3);
        var against = Text(args, "--against-bot");
        var againstLabel = Text(args, "--against-label") ?? "other build";
        UseBenchServer();

        Console.WriteLine($"Generating {updates:N0} updates…");
        var traffic = Traffic.Generate(updates, chats: 200, users: 5_000, seed: 42);
        Console.WriteLine($"  {traffic.MessageRows:N0} message rows, {traffic.Edits:N0} edits, {traffic.ServiceEvents:N0} service events");

        var builds = new List<(string Label, string Dir)> { ("this build", AppContext.BaseDirectory) };
        if (against is not null)
        {
            builds.Add((againstLabel, Path.GetFullPath(against)));
        }
        // Warm the JIT on the parsing path once, untimed, so the first baseline is not a cold start.
        await BaselineAsync(traffic);
        var baselines = new List<(double Rate, double MsPerBatch)>();
        var stored = new List<(double Rate, double MsPerBatch)>();
        var results = builds.ToDictionary(b => b.Label, _ => new List<IngestResult>());
        for (var run = 1; run <= runs; run++)
        {
            var baseline = await BaselineAsync(traffic);
            baselines.Add(baseline);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: baseline (poll + read, nothing stored) {baseline.Rate:N0} updates/s, {baseline.MsPerBatch:N2} ms per 100-update batch"));
            var store = await PollAndStoreAsync(traffic);
            stored.Add(store);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: poll + store in the inbox (nothing recorded) {store.Rate:N0} updates/s, {store.MsPerBatch:N2} ms per 100-update batch"));
            // Interleaved: odd runs start with this build, even runs with the other.
            foreach (var (label, dir) in run % 2 == 1 ? builds : Enumerable.Reverse(builds))
            {
                var result = await IngestAsync(traffic, dir);
                results[label].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run}: {label}: ingest {result.Rate:N0} updates/s ({result.SteadyRate:N0} after the first {SteadyAfter.TotalSeconds:0} s), peak RSS {result.PeakMb:N0} MB; poll loop {result.PollMs:N2} ms round trip + {result.StoreMs:N2} ms into the inbox per batch"));
            }
        }
        var anatomy = await PollLoopAnatomyAsync(traffic);

        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        foreach (var (label, list) in results)
        {
            Row($"{label}: ingest, updates/s", list.Select(r => r.Rate), "N0");
            Row($"{label}: ingest after the first {SteadyAfter.TotalSeconds:0} s, updates/s", list.Select(r => r.SteadyRate), "N0");
            Row($"{label}: bot peak RSS, MB", list.Select(r => r.PeakMb), "N0");
            Row($"{label}: bot CPU (user + system), s", list.Select(r => r.CpuSeconds), "N1");
            Row($"{label}: getUpdates round trip per batch, ms", list.Select(r => r.PollMs), "N2");
            Row($"{label}: batch into the inbox (insert + commit), ms", list.Select(r => r.StoreMs), "N2");
        }
        if (results.Count == 2)
        {
            Row($"this build / {againstLabel}, per run", results["this build"].Zip(results[againstLabel], (a, b) => a.Rate / b.Rate), "P0");
            Row($"this build / {againstLabel} after the first {SteadyAfter.TotalSeconds:0} s, per run",
                results["this build"].Zip(results[againstLabel], (a, b) => a.SteadyRate / b.SteadyRate), "P0");
        }
        Row("baseline (poll + read, nothing stored), updates/s", baselines.Select(b => b.Rate), "N0");
        Row("baseline round trip per 100-update batch, ms", baselines.Select(b => b.MsPerBatch), "N2");
        Row("poll + store in the inbox (the poll loop alone), updates/s", stored.Select(b => b.Rate), "N0");
        Row("poll loop per 100-update batch, ms", stored.Select(b => b.MsPerBatch), "N2");
        Console.WriteLine();
        Console.WriteLine("Poll loop, one 100-update batch taken apart (medians of interleaved samples, same database):");
        Console.WriteLine("| part | ms |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| getUpdates round trip (baseline) | {Median([.. baselines.Select(b => b.MsPerBatch)]):N2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| insert, payload stored uncompressed (STORAGE EXTERNAL) | {anatomy.InsertMs:N2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| lz4 compression, net: compressed insert minus uncompressed (negative: writing 4x the bytes costs more than compressing) | {anatomy.CompressionMs:N2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| commit wait (WAL flush) | {anatomy.CommitMs:N2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| sum: round trip + one commit | {Median([.. baselines.Select(b => b.MsPerBatch)]) + anatomy.InsertMs + anatomy.CompressionMs + anatomy.CommitMs:N2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| measured: the poll loop with this build's inbox writer | {Median([.. stored.Select(b => b.MsPerBatch)]):N2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| payload, bytes (median) | {anatomy.PayloadBytes:N0} |"));
        return 0;
    }

    internal sealed record IngestResult(double Rate, double SteadyRate, double PeakMb, double PollMs, double StoreMs, double CpuSeconds);

    private static readonly TimeSpan SteadyAfter = TimeSpan.FromSeconds(5);

    private static void Row(string label, IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {Median(list).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", list.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));
    }

    private static async Task<IngestResult> IngestAsync(Traffic traffic, string botDir)
    {
        // Each build migrates its own database: the other build's schema may differ from this one's.
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("bench");
        await MigrateAsync(botDir, cs);
        await using var api = await FakeBotApi.StartAsync();
        var ids = api.AddUpdates(traffic.Updates);
        var webPort = FreePort();
        using var bot = StartBot(botDir, "run", cs, new Dictionary<string, string>
        {
            ["Web__Urls"] = $"http://127.0.0.1:{webPort}",
            ["TELEGRAM_API_BASE_URL"] = api.BaseUrl,
        });
        try
        {
            var started = await WaitForFirstDeliveryAsync(api, bot);
            await using var dataSource = NpgsqlDataSource.Create(cs);
            // Past the first seconds (start-up JIT), for the rate a long-running bot keeps.
            await Task.Delay(SteadyAfter);
            var warmRows = await CountAsync(dataSource);
            var warmAt = Stopwatch.GetElapsedTime(started);
            await WaitAsync(() => api.ConfirmedBelow > ids[^1] - 1 || api.PendingCount <= 100, bot, TimeSpan.FromMinutes(10));
            var polled = Stopwatch.GetElapsedTime(started);
            // The last batch is confirmed only by a later poll; look for its rows directly instead of waiting for one.
            await WaitUntilRecordedAsync(api, dataSource, traffic.MessageRows, bot, TimeSpan.FromMinutes(2));
            var elapsed = Stopwatch.GetElapsedTime(started);
            var steady = (traffic.MessageRows - warmRows) * ((double)traffic.Updates.Count / traffic.MessageRows) / (elapsed - warmAt).TotalSeconds;
            var peak = PeakRssMb(bot.Id);
            var cpu = CpuSeconds(bot.Id);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  received all in {polled.TotalSeconds:F1} s, recorded all in {elapsed.TotalSeconds:F1} s; bot CPU {cpu:F1} s"));
            var (pollMs, storeMs) = await PrintBotMetricsAsync(webPort);
            var rows = await CountAsync(dataSource);
            if (rows != traffic.MessageRows)
            {
                throw new InvalidOperationException($"expected {traffic.MessageRows} message rows, found {rows}");
            }
            return new IngestResult(traffic.Updates.Count / elapsed.TotalSeconds, steady, peak, pollMs, storeMs, cpu);
        }
        finally
        {
            Stop(bot);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task<(double Rate, double MsPerBatch)> BaselineAsync(Traffic traffic)
    {
        await using var api = await FakeBotApi.StartAsync();
        var ids = api.AddUpdates(traffic.Updates);
        var source = api.CreateUpdateSource(pollTimeout: TimeSpan.FromSeconds(1));
        var inbox = new ReadingInbox(ids.Length);
        var poller = new LongPoller(source, inbox, new LongPollerOptions { PollTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System, NullLogger<LongPoller>.Instance);
        using var stop = new CancellationTokenSource();
        var started = Stopwatch.GetTimestamp();
        var run = poller.RunAsync(stop.Token);
        await inbox.Done.Task;
        var elapsed = Stopwatch.GetElapsedTime(started);
        await stop.CancelAsync();
        await run;
        return (ids.Length / elapsed.TotalSeconds, elapsed.TotalMilliseconds / inbox.Batches);
    }

    /// <summary>
    /// This build's poller and inbox writer against a migrated database, with nothing recording: the poll loop on its
    /// own, a round trip and one commit per batch.
    /// </summary>
    private static async Task<(double Rate, double MsPerBatch)> PollAndStoreAsync(Traffic traffic)
    {
        var cs = await PostgresServer.CreateDatabaseAsync("pollstore");
        try
        {
            await using var api = await FakeBotApi.StartAsync();
            var ids = api.AddUpdates(traffic.Updates);
            await using var dataSource = NpgsqlDataSource.Create(cs);
            var options = Microsoft.Extensions.Options.Options.Create(new ChatStats.Bot.Ingest.IngestOptions { MaxBacklog = 1_000_000 });
            using var signal = new ChatStats.Bot.Ingest.InboxSignal();
            await using var writer = new ChatStats.Bot.Ingest.InboxWriter(dataSource, new ChatStats.Bot.Ingest.IngestWriter(dataSource), signal, options,
                NullLogger<ChatStats.Bot.Ingest.InboxWriter>.Instance);
            var counting = new CountingInbox(writer, ids.Length);
            var poller = new LongPoller(api.CreateUpdateSource(pollTimeout: TimeSpan.FromSeconds(1)), counting,
                new LongPollerOptions { PollTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System, NullLogger<LongPoller>.Instance);
            using var stop = new CancellationTokenSource();
            var started = Stopwatch.GetTimestamp();
            var run = poller.RunAsync(stop.Token);
            await counting.Done.Task;
            var elapsed = Stopwatch.GetElapsedTime(started);
            await stop.CancelAsync();
            await run;
            return (ids.Length / elapsed.TotalSeconds, elapsed.TotalMilliseconds / counting.Batches);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private sealed class CountingInbox(IUpdateInbox inner, int expected) : IUpdateInbox
    {
        private int _seen;
        public int Batches { get; private set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task StoreAsync(UpdateBatch batch, CancellationToken ct)
        {
            await inner.StoreAsync(batch, ct);
            Batches++;
            if (Interlocked.Add(ref _seen, batch.Count) >= expected)
            {
                Done.TrySetResult();
            }
        }

        public Task StoreUnreadableAsync(ReadOnlyMemory<byte> body, string reason, CancellationToken ct) => inner.StoreUnreadableAsync(body, reason, ct);
    }

    /// <summary>Stores nothing, but reads every update with Telegram.Bot as the recorder would.</summary>
    private sealed class ReadingInbox(int expected) : IUpdateInbox
    {
        private int _seen;
        public int Batches { get; private set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task StoreAsync(UpdateBatch batch, CancellationToken ct)
        {
            Batches++;
            foreach (var update in batch.Updates)
            {
                _ = update.Read();
            }
            if (Interlocked.Add(ref _seen, batch.Count) >= expected)
            {
                Done.TrySetResult();
            }
            return Task.CompletedTask;
        }

        public Task StoreUnreadableAsync(ReadOnlyMemory<byte> body, string reason, CancellationToken ct) => Task.CompletedTask;
    }

    internal sealed record Anatomy(double InsertMs, double CompressionMs, double CommitMs, double PayloadBytes);

    /// <summary>
    /// The inbox insert three ways, interleaved over the same 100-update payloads: uncompressed without waiting for the
    /// flush (the insert itself), lz4-compressed without waiting (adds the compression), lz4-compressed with the flush
    /// (adds the commit wait) — the statement the bot runs.
    /// </summary>
    private static async Task<Anatomy> PollLoopAnatomyAsync(Traffic traffic)
    {
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("anatomy");
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(cs);
            await using (var setup = dataSource.CreateCommand("""
                CREATE TABLE plain (first_update_id bigint, last_update_id bigint, update_count int, payload bytea, received_at timestamptz);
                ALTER TABLE plain ALTER COLUMN payload SET STORAGE EXTERNAL;
                CREATE TABLE packed (first_update_id bigint, last_update_id bigint, update_count int, payload bytea, received_at timestamptz);
                ALTER TABLE packed ALTER COLUMN payload SET COMPRESSION lz4;
                """))
            {
                await setup.ExecuteNonQueryAsync();
            }
            var id = 0L;
            var payloads = traffic.Updates.Take(30_000).Chunk(100)
                .Select(chunk => Encoding.UTF8.GetBytes("[" + string.Join(",", chunk.Select(u => "{\"update_id\":" + ++id + "," + u[1..])) + "]"))
                .ToList();
            var insert = new List<double>();
            var compressed = new List<double>();
            var flushed = new List<double>();
            await using var connection = await dataSource.OpenConnectionAsync();
            foreach (var payload in payloads)
            {
                insert.Add(await TimeInsertAsync(connection, "plain", payload, durable: false));
                compressed.Add(await TimeInsertAsync(connection, "packed", payload, durable: false));
                flushed.Add(await TimeInsertAsync(connection, "packed", payload, durable: true));
            }
            var i = Median(insert);
            var c = Median(compressed);
            return new Anatomy(i, c - i, Median(flushed) - c, Median([.. payloads.Select(p => (double)p.Length)]));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task<double> TimeInsertAsync(NpgsqlConnection connection, string table, byte[] payload, bool durable)
    {
        await using (var mode = new NpgsqlCommand($"SET synchronous_commit = {(durable ? "on" : "off")}", connection))
        {
            await mode.ExecuteNonQueryAsync();
        }
        await using var cmd = new NpgsqlCommand($"INSERT INTO {table} VALUES (1, 100, 100, @payload, now())", connection);
        cmd.Parameters.Add(new NpgsqlParameter<byte[]>("payload", payload));
        var started = Stopwatch.GetTimestamp();
        await cmd.ExecuteNonQueryAsync();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>What the bot itself measured; returns its round trip and inbox time per getUpdates batch.</summary>
    private static async Task<(double PollMs, double StoreMs)> PrintBotMetricsAsync(int port)
    {
        var metrics = await BotMetrics.ReadAsync(port);
        var chunks = metrics.Value("chatstats_ingest_chunk_size_count");
        var updates = metrics.Value("chatstats_ingest_chunk_size_sum");
        var seconds = metrics.Value("chatstats_ingest_process_duration_seconds_sum");
        var batches = metrics.Value("chatstats_telegram_batch_size_count");
        var poll = metrics.Value("chatstats_telegram_poll_duration_seconds_sum") * 1000 / Math.Max(1, batches);
        var handle = metrics.Value("chatstats_telegram_batch_handle_duration_seconds_sum") * 1000 / Math.Max(1, batches);
        var commits = metrics.Value("chatstats_inbox_commit_duration_seconds_count");
        var commit = commits > 0 ? string.Create(CultureInfo.InvariantCulture, $" (of which {metrics.Value("chatstats_inbox_commit_duration_seconds_sum") * 1000 / commits:N2} ms insert + commit)") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  bot: {batches:N0} getUpdates batches, {poll:N2} ms round trip + {handle:N2} ms into the inbox each{commit}; {chunks:N0} chunks recorded, {updates / Math.Max(1, chunks):N0} updates each, {seconds * 1000 / Math.Max(1, chunks):N1} ms each (claim to commit)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  bot runtime: JIT {metrics.Value("dotnet_jit_compilation_time_seconds_total"):N2} s over {metrics.Value("dotnet_jit_compiled_methods_total"):N0} methods, GC pauses {metrics.Value("dotnet_gc_pause_time_seconds_total"):N2} s, {metrics.Value("dotnet_gc_heap_total_allocated_bytes_total") / 1e9:N2} GB allocated"));
        return (poll, handle);
    }

    internal static async Task MigrateAsync(string botDir, string connectionString)
    {
        using var migrate = StartBot(botDir, "migrate", connectionString, new Dictionary<string, string>(), echo: false);
        if (!migrate.WaitForExit(TimeSpan.FromMinutes(3)) || migrate.ExitCode != 0)
        {
            throw new InvalidOperationException($"chatstats migrate in {botDir} failed");
        }
        await Task.CompletedTask;
    }

    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static Process StartBot(string botDir, string role, string connectionString, IReadOnlyDictionary<string, string> environment, bool echo = true)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(botDir, "chatstats.dll"));
        start.ArgumentList.Add(role);
        start.Environment.Remove("DATABASE_URL");
        start.Environment["Database__ConnectionString"] = connectionString;
        start.Environment["TELEGRAM_BOT_TOKEN"] = FakeBotApi.Token;
        start.Environment["Telegram__SetCommandsOnStart"] = "false";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null && echo) Console.WriteLine($"  {role}: {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null && echo) Console.WriteLine($"  {role}: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<long> WaitForFirstDeliveryAsync(FakeBotApi api, Process bot)
    {
        while (api.GetUpdatesCalls == 0)
        {
            if (bot.HasExited)
            {
                throw new InvalidOperationException($"the bot exited with {bot.ExitCode} before polling");
            }
            await Task.Delay(1);
        }
        return Stopwatch.GetTimestamp();
    }

    internal static async Task WaitAsync(Func<bool> done, Process? bot, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (bot is { HasExited: true })
            {
                throw new InvalidOperationException($"the bot exited with {bot.ExitCode}");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the bot did not finish in time");
            }
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Waits until the fake API has handed out its updates and <paramref name="messageRows"/> message rows are recorded.
    /// It asks whether the inbox is empty (recording deletes a batch's inbox rows in the transaction that records it)
    /// and counts the messages only then: counting a table of a million rows every 5 ms, as the load runs once did,
    /// kept a core of PostgreSQL busy against the bot they were timing (about 70 ms a count at 300,000 updates: 2 s of
    /// PostgreSQL's time in a 21 s ingest run, all of it in the last seconds).
    /// </summary>
    internal static async Task WaitUntilRecordedAsync(FakeBotApi api, NpgsqlDataSource dataSource, long messageRows, Process bot, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        // At most the last getUpdates answer (100 updates) unconfirmed: everything else is in the inbox or recorded, so an
        // empty inbox from here on means recording has caught up. Both waits share the one deadline.
        await WaitAsync(() => api.PendingCount <= 100, bot, timeout);
        await using var inboxEmpty = dataSource.CreateCommand("SELECT NOT EXISTS (SELECT FROM update_inbox)");
        while (!((bool)(await inboxEmpty.ExecuteScalarAsync())! && await CountAsync(dataSource) >= messageRows))
        {
            if (bot.HasExited)
            {
                throw new InvalidOperationException($"the bot exited with {bot.ExitCode}");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the bot did not record {messageRows:N0} messages in time");
            }
            await Task.Delay(5);
        }
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM messages");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>VmHWM: the most resident memory the process ever had.</summary>
    internal static double PeakRssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return double.NaN;
    }

    /// <summary>User plus system CPU time the process has used so far (/proc/PID/stat, in clock ticks of 1/100 s).</summary>
    internal static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    internal static void Stop(Process bot)
    {
        if (!bot.HasExited)
        {
            bot.Kill(entireProcessTree: true);
            bot.WaitForExit(10_000);
        }
    }

    internal static void UseBenchServer()
    {
        if (Environment.GetEnvironmentVariable("CHATSTATS_BENCH_SERVER_URL") is { } server)
        {
            Environment.SetEnvironmentVariable(PostgresServer.UrlVariable, server);
        }
    }

    internal static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    internal static string? Text(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}

/// <summary>A chatstats process's /metrics, read once.</summary>
internal sealed class BotMetrics(string text)
{
    public static async Task<BotMetrics> ReadAsync(int port)
    {
        using var http = new HttpClient();
        return new BotMetrics(await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"));
    }

    /// <summary>
    /// Reads the bot's /metrics once a second until no answer waits, runs or waits to be sent, or
    /// <paramref name="patience"/> is over; returns the last reading. The bot is another process on the real clock:
    /// its metrics are the only way to see its queues empty.
    /// </summary>
    public static async Task<BotMetrics> WhenAnsweredAsync(int port, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var metrics = await ReadAsync(port);
            var queued = metrics.Sum("chatstats_dispatch_waiting") + metrics.Sum("chatstats_dispatch_running") + metrics.Sum("chatstats_sender_waiting");
            if (queued == 0 || DateTime.UtcNow > deadline)
            {
                return metrics;
            }
            await Task.Delay(1000);
        }
    }

    public double Value(string name) => text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
        .Select(l => double.Parse(l[(name.Length + 1)..], CultureInfo.InvariantCulture)).FirstOrDefault();

    /// <summary>
    /// The <paramref name="q"/> quantile of a histogram, all its series together, interpolated within its bucket (as
    /// Prometheus's histogram_quantile does); NaN when it has no observations.
    /// </summary>
    /// <param name="labels">Only the series whose labels contain this (<c>command="stats"</c>), when given.</param>
    /// <param name="since">An earlier reading: only what was observed after it counts.</param>
    public double Quantile(string histogram, double q, string? labels = null, BotMetrics? since = null)
    {
        var before = since?.Series(histogram + "_bucket").ToDictionary(b => b.Labels, b => b.Value) ?? [];
        var buckets = Series(histogram + "_bucket").Where(b => labels is null || b.Labels.Contains(labels, StringComparison.Ordinal))
            .Select(b => (b.Labels, Value: b.Value - before.GetValueOrDefault(b.Labels)))
            .Select(b => (Le: System.Text.RegularExpressions.Regex.Match(b.Labels, "le=\"([^\"]*)\"").Groups[1].Value, b.Value))
            .GroupBy(b => b.Le == "+Inf" ? double.PositiveInfinity : double.Parse(b.Le, CultureInfo.InvariantCulture))
            .Select(g => (Le: g.Key, Count: g.Sum(b => b.Value)))
            .OrderBy(b => b.Le)
            .ToList();
        if (buckets.Count == 0 || buckets[^1].Count == 0)
        {
            return double.NaN;
        }
        var rank = q * buckets[^1].Count;
        var (lower, below) = (0.0, 0.0);
        foreach (var (le, count) in buckets)
        {
            if (count >= rank)
            {
                return double.IsInfinity(le) ? lower : lower + (le - lower) * (rank - below) / Math.Max(1, count - below);
            }
            (lower, below) = (le, count);
        }
        return lower;
    }

    /// <summary>The series of <paramref name="name"/>, whatever their labels, added up.</summary>
    public double Sum(string name) => Series(name).Sum(s => s.Value);

    /// <summary>The series of <paramref name="name"/> by the value of one label.</summary>
    public IReadOnlyDictionary<string, double> ByLabel(string name, string label) => Series(name)
        .GroupBy(s => System.Text.RegularExpressions.Regex.Match(s.Labels, label + "=\"([^\"]*)\"").Groups[1].Value)
        .ToDictionary(g => g.Key, g => g.Sum(s => s.Value));

    /// <summary>The series of <paramref name="name"/> by the value of one label, less an earlier reading's.</summary>
    public IReadOnlyDictionary<string, double> ByLabel(string name, string label, BotMetrics since)
    {
        var before = since.ByLabel(name, label);
        return ByLabel(name, label).ToDictionary(p => p.Key, p => p.Value - before.GetValueOrDefault(p.Key));
    }

    private IEnumerable<(string Labels, double Value)> Series(string name) => text.Split('\n')
        .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))
        .Select(l => (Labels: l.Contains('{') ? l[l.IndexOf('{')..(l.LastIndexOf('}') + 1)] : "", Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)));
}
