using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// Telegram's side of webhook mode, played by this process: <c>--concurrency</c> deliveries in flight at once (Telegram's
/// max_connections ceiling is 100), each posting the next update as soon as the previous one was answered 200. The web
/// role runs alone, as it would behind a load balancer, so the figure is receiving only: an update counts when its 200
/// arrived, which the web role sends only after the update's inbox row committed (fsync on). Every update is then
/// checked in the inbox.
/// </summary>
internal static class WebhookLoadRun
{
    private const string Secret = "bench-secret_0123456789";

    public static async Task<int> RunAsync(string[] args)
    {
        var updates = IngestLoadRun.Option(args, "--updates", 100_000);
        var concurrency = IngestLoadRun.Option(args, "--concurrency", 100);
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        IngestLoadRun.UseBenchServer();

        Console.WriteLine($"Generating {updates:N0} updates…");
        var traffic = Traffic.Generate(updates, chats: 200, users: 5_000, seed: 42);
        var id = 0L;
        var bodies = traffic.Updates.Select(u => Encoding.UTF8.GetBytes("{\"update_id\":" + ++id + "," + u[1..])).ToArray();

        var rates = new List<double>();
        var groups = new List<double>();
        var peaks = new List<double>();
        var latencies = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var (rate, group, peak, p95) = await RunOnceAsync(bodies, concurrency);
            rates.Add(rate);
            groups.Add(group);
            peaks.Add(peak);
            latencies.Add(p95);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: {rate:N0} updates/s stored durably, {group:N1} updates per commit, delivery p95 {p95:N1} ms, web peak RSS {peak:N0} MB"));
        }
        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        Row($"webhook, {concurrency} deliveries in flight: updates/s stored durably", rates, "N0");
        Row("updates per inbox commit", groups, "N1");
        Row("delivery (POST to 200) p95, ms", latencies, "N1");
        Row("web peak RSS, MB", peaks, "N0");
        return 0;
    }

    private static void Row(string label, List<double> values, string format) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {IngestLoadRun.Median(values).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));

    private static async Task<(double Rate, double Group, double PeakMb, double P95Ms)> RunOnceAsync(byte[][] bodies, int concurrency)
    {
        var cs = await PostgresServer.CreateDatabaseAsync("webhook");
        await using var api = await FakeBotApi.StartAsync();
        var port = IngestLoadRun.FreePort();
        var url = $"http://127.0.0.1:{port}/telegram/hook";
        using var web = IngestLoadRun.StartBot(AppContext.BaseDirectory, "web", cs, new Dictionary<string, string>
        {
            ["Web__Urls"] = $"http://127.0.0.1:{port}",
            ["TELEGRAM_API_BASE_URL"] = api.BaseUrl,
            ["TELEGRAM_MODE"] = "webhook",
            ["TELEGRAM_WEBHOOK_URL"] = url,
            ["TELEGRAM_WEBHOOK_SECRET"] = Secret,
            // Nothing records in this run: let the inbox grow instead of slowing receiving down.
            ["Ingest__MaxBacklog"] = "1000000",
        });
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan });
            await WaitForLiveAsync(http, port, web);
            // A few deliveries first, untimed: JIT and connection set-up are not what is measured.
            await DeliverAsync(http, url, bodies.Take(concurrency * 4).ToArray(), concurrency, null);
            var measured = bodies.Skip(concurrency * 4).ToArray();
            var latencies = new double[measured.Length];
            var started = Stopwatch.GetTimestamp();
            await DeliverAsync(http, url, measured, concurrency, latencies);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var metrics = await BotMetrics.ReadAsync(port);
            var group = metrics.Value("chatstats_inbox_group_size_sum") / Math.Max(1, metrics.Value("chatstats_inbox_group_size_count"));
            var peak = IngestLoadRun.PeakRssMb(web.Id);

            await using var dataSource = NpgsqlDataSource.Create(cs);
            await using var cmd = dataSource.CreateCommand("SELECT coalesce(sum(update_count), 0)::bigint FROM update_inbox");
            var stored = (long)(await cmd.ExecuteScalarAsync())!;
            if (stored != bodies.Length)
            {
                throw new InvalidOperationException($"{bodies.Length} updates answered 200, but the inbox holds {stored}");
            }
            Array.Sort(latencies);
            return (measured.Length / elapsed.TotalSeconds, group, peak, latencies[(int)(latencies.Length * 0.95)]);
        }
        finally
        {
            IngestLoadRun.Stop(web);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task DeliverAsync(HttpClient http, string url, byte[][] bodies, int concurrency, double[]? latencies)
    {
        var next = -1;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < bodies.Length)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bodies[i]) };
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", Secret);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"delivery {i} answered {(int)response.StatusCode}");
                }
                if (latencies is not null)
                {
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }
        });
        await Task.WhenAll(workers);
    }

    private static async Task WaitForLiveAsync(HttpClient http, int port, Process web)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            if (web.HasExited)
            {
                throw new InvalidOperationException($"the web role exited with {web.ExitCode}");
            }
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{port}/health/live");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the web role did not come up");
            }
            await Task.Delay(100);
        }
    }
}
