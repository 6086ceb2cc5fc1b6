using System.Diagnostics;
using System.Globalization;
using ChatStats.Telegram;
using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Types;
using ChatStats.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// Fake Bot API (this process) → chatstats bot (a child process, as deployed) → PostgreSQL. Throughput is measured
/// from the first delivered batch to the confirmation of the last one, which the bot sends only after committing it.
/// The baseline, measured in the same run, is the same poller and parser with a handler that stores nothing: the
/// ceiling the fake API and the HTTP/JSON path allow on this machine.
/// </summary>
internal static class IngestLoadRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var updates = Option(args, "--updates", 200_000);
        var runs = Option(args, "--runs", 3);
        if (Environment.GetEnvironmentVariable("CHATSTATS_BENCH_SERVER_URL") is { } server)
        {
            Environment.SetEnvironmentVariable(PostgresServer.UrlVariable, server);
        }

        Console.WriteLine($"Generating {updates:N0} updates…");
        var traffic = Traffic.Generate(updates, chats: 200, users: 5_000, seed: 42);
        Console.WriteLine($"  {traffic.MessageRows:N0} message rows, {traffic.Edits:N0} edits, {traffic.ServiceEvents:N0} service events");

        // Warm the JIT on the parsing path once, untimed, so the first baseline is not a cold start.
        await BaselineAsync(traffic);
        var baselines = new List<double>();
        var rates = new List<double>();
        var peaks = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var baseline = await BaselineAsync(traffic);
            baselines.Add(baseline);
            var (rate, peakMb) = await IngestAsync(traffic);
            rates.Add(rate);
            peaks.Add(peakMb);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: ingest {rate:N0} updates/s, peak RSS {peakMb:N0} MB; baseline (poll + parse, nothing stored) {baseline:N0} updates/s"));
        }

        var median = Median(rates);
        var medianBaseline = Median(baselines);
        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ingest, updates/s | {median:N0} | {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| baseline (poll + parse, nothing stored), updates/s | {medianBaseline:N0} | {string.Join(", ", baselines.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ingest / baseline | {median / medianBaseline:P0} | |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| bot peak RSS, MB | {Median(peaks):N0} | {string.Join(", ", peaks.Select(p => p.ToString("N0", CultureInfo.InvariantCulture)))} |"));
        return 0;
    }

    private static async Task<(double Rate, double PeakMb)> IngestAsync(Traffic traffic)
    {
        var cs = await PostgresServer.CreateDatabaseAsync("bench");
        await using var api = await FakeBotApi.StartAsync();
        var ids = api.AddUpdates(traffic.Updates);
        var webPort = FreePort();
        using var bot = StartBot(api.BaseUrl, cs, webPort);
        try
        {
            var started = await WaitForFirstDeliveryAsync(api, bot);
            await WaitAsync(() => api.ConfirmedBelow > ids[^1] - 1 || api.PendingCount <= 100, bot, TimeSpan.FromMinutes(10));
            var polled = Stopwatch.GetElapsedTime(started);
            // The last batch is confirmed only by a later poll; count its rows directly instead of waiting for one.
            await using var dataSource = NpgsqlDataSource.Create(cs);
            await WaitAsync(() => CountAsync(dataSource).GetAwaiter().GetResult() >= traffic.MessageRows, bot, TimeSpan.FromMinutes(2));
            var elapsed = Stopwatch.GetElapsedTime(started);
            var peak = PeakRssMb(bot.Id);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  received all in {polled.TotalSeconds:F1} s, recorded all in {elapsed.TotalSeconds:F1} s"));
            await PrintBotMetricsAsync(webPort);
            var rows = await CountAsync(dataSource);
            if (rows != traffic.MessageRows)
            {
                throw new InvalidOperationException($"expected {traffic.MessageRows} message rows, found {rows}");
            }
            return (traffic.Updates.Count / elapsed.TotalSeconds, peak);
        }
        finally
        {
            Stop(bot);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task<double> BaselineAsync(Traffic traffic)
    {
        await using var api = await FakeBotApi.StartAsync();
        var ids = api.AddUpdates(traffic.Updates);
        using var client = new BotApiClient(new BotApiClientOptions { Token = FakeBotApi.Token, ApiBaseUrl = api.BaseUrl });
        var handler = new CountingHandler(ids.Length);
        var poller = new LongPoller(client, handler, new LongPollerOptions { PollTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System, NullLogger<LongPoller>.Instance);
        using var stop = new CancellationTokenSource();
        var started = Stopwatch.GetTimestamp();
        var run = poller.RunAsync(stop.Token);
        await handler.Done.Task;
        var elapsed = Stopwatch.GetElapsedTime(started);
        await stop.CancelAsync();
        await run;
        return ids.Length / elapsed.TotalSeconds;
    }

    private sealed class CountingHandler(int expected) : IUpdateBatchHandler
    {
        private int _seen;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HandleBatchAsync(IReadOnlyList<RawUpdate> updates, CancellationToken ct)
        {
            foreach (var update in updates)
            {
                _ = update.Parse();
            }
            if (Interlocked.Add(ref _seen, updates.Count) >= expected)
            {
                Done.TrySetResult();
            }
            return Task.CompletedTask;
        }
    }

    /// <summary>What the bot itself measured: how big its chunks were and how long each took to record.</summary>
    private static async Task PrintBotMetricsAsync(int port)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        double Value(string name) => text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(name.Length + 1)..], CultureInfo.InvariantCulture)).FirstOrDefault();
        var chunks = Value("chatstats_ingest_chunk_size_count");
        var updates = Value("chatstats_ingest_chunk_size_sum");
        var seconds = Value("chatstats_ingest_process_duration_seconds_sum");
        var batches = Value("chatstats_telegram_batch_size_count");
        var poll = Value("chatstats_telegram_poll_duration_seconds_sum") * 1000 / Math.Max(1, batches);
        var handle = Value("chatstats_telegram_batch_handle_duration_seconds_sum") * 1000 / Math.Max(1, batches);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  bot: {batches:N0} getUpdates batches, {poll:N2} ms round trip + {handle:N2} ms into the inbox each; {chunks:N0} chunks recorded, {updates / Math.Max(1, chunks):N0} updates each, {seconds * 1000 / Math.Max(1, chunks):N1} ms each (claim to commit)"));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartBot(string apiBaseUrl, string connectionString, int webPort)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "chatstats.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        // The web role rides along so the run can read the bot's own metrics; it costs nothing while unused.
        start.ArgumentList.Add("run");
        start.Environment["Web__Urls"] = $"http://127.0.0.1:{webPort}";
        start.Environment.Remove("DATABASE_URL");
        start.Environment["Database__ConnectionString"] = connectionString;
        start.Environment["TELEGRAM_BOT_TOKEN"] = FakeBotApi.Token;
        start.Environment["TELEGRAM_API_BASE_URL"] = apiBaseUrl;
        start.Environment["Telegram__SetCommandsOnStart"] = "false";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"  bot: {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"  bot: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<long> WaitForFirstDeliveryAsync(FakeBotApi api, Process bot)
    {
        var pending = api.PendingCount;
        while (api.GetUpdatesCalls == 0)
        {
            if (bot.HasExited)
            {
                throw new InvalidOperationException($"the bot exited with {bot.ExitCode} before polling");
            }
            await Task.Delay(1);
        }
        _ = pending;
        return Stopwatch.GetTimestamp();
    }

    private static async Task WaitAsync(Func<bool> done, Process bot, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (bot.HasExited)
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

    private static void Stop(Process bot)
    {
        if (!bot.HasExited)
        {
            bot.Kill(entireProcessTree: true);
            bot.WaitForExit(10_000);
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
}
