using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// Telegram's side of webhook mode: <c>--concurrency</c> deliveries in flight at once (Telegram's max_connections
/// ceiling is 100), each connection posting the next real-shaped update as soon as the previous one was answered. The
/// deliveries come from wrk (Debian's, installed by <c>deploy/dev.sh bench</c>): a client that costs little CPU, as a
/// remote Telegram costs this machine nothing; an HttpClient load generator took a third of these two cores. The web
/// role runs alone, as it would behind a load balancer, so the figure is receiving only: an update counts when its 200
/// arrived, which the web role sends only after the update's inbox row committed (fsync on); afterwards the inbox must
/// hold every update answered 200.
/// </summary>
internal static partial class WebhookLoadRun
{
    private const string Secret = "bench-secret_0123456789";

    /// <summary>Untimed load first, long enough for the JIT to finish tiering up what the deliveries run.</summary>
    private const int WarmUpSeconds = 20;

    /// <summary>The machine's busy and total CPU seconds so far, from /proc/stat (everything but idle and iowait is busy).</summary>
    internal readonly record struct MachineCpu(double Busy, double Total)
    {
        public static MachineCpu Read()
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture) / 100.0).ToArray();
            var idle = fields[3] + fields[4];
            return new MachineCpu(fields.Sum() - idle, fields.Sum());
        }

        public static MachineCpu operator -(MachineCpu a, MachineCpu b) => new(a.Busy - b.Busy, a.Total - b.Total);

        /// <summary>CPU seconds used so far by every process with this command name (postgres, wrk).</summary>
        public static double ByName(string name)
        {
            var total = 0.0;
            foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var open = stat.IndexOf('(', StringComparison.Ordinal);
                    var close = stat.LastIndexOf(')');
                    if (stat[(open + 1)..close] == name)
                    {
                        var fields = stat[(close + 2)..].Split(' ');
                        total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                    }
                }
                catch (IOException)
                {
                    // The process ended while we looked.
                }
            }
            return total;
        }
    }

    private sealed record Run(double Rate, double Group, double PeakMb, double P50Ms, double P99Ms, double WebCpuUs);

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = IngestLoadRun.Option(args, "--seconds", 15);
        var concurrency = IngestLoadRun.Option(args, "--concurrency", 100);
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        IngestLoadRun.UseBenchServer();
        if (ChatStats.Bot.Configuration.ProgramPath.Find("wrk") is not { } wrk)
        {
            Console.Error.WriteLine("wrk is not installed: deploy/dev.sh bench installs it (Debian package wrk).");
            return 1;
        }

        var dir = Directory.CreateTempSubdirectory("chatstats-webhook-");
        try
        {
            var traffic = Traffic.Generate(100_000, chats: 200, users: 5_000, seed: 42);
            var id = 0L;
            var bodies = Path.Combine(dir.FullName, "bodies.jsonl");
            await File.WriteAllLinesAsync(bodies, traffic.Updates.Select(u => "{\"update_id\":" + ++id + "," + u[1..]));
            var script = Path.Combine(dir.FullName, "deliver.lua");
            await File.WriteAllTextAsync(script, Script(bodies));

            var results = new List<Run>();
            for (var run = 1; run <= runs; run++)
            {
                var result = await RunOnceAsync(wrk, script, concurrency, seconds);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run}: {result.Rate:N0} updates/s stored durably, {result.Group:N1} updates per commit, delivery p50 {result.P50Ms:N1} ms, p99 {result.P99Ms:N1} ms, web role {result.WebCpuUs:N0} µs CPU per update, peak RSS {result.PeakMb:N0} MB"));
            }
            Console.WriteLine();
            Console.WriteLine("| measure | median | runs |");
            Console.WriteLine("|---|---|---|");
            Row($"webhook, {concurrency} deliveries in flight: updates/s stored durably", results.Select(r => r.Rate), "N0");
            Row("updates per inbox commit", results.Select(r => r.Group), "N1");
            Row("delivery (POST to 200) p50, ms", results.Select(r => r.P50Ms), "N1");
            Row("delivery (POST to 200) p99, ms", results.Select(r => r.P99Ms), "N1");
            Row("web role CPU per update, µs", results.Select(r => r.WebCpuUs), "N0");
            Row("web peak RSS, MB", results.Select(r => r.PeakMb), "N0");
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void Row(string label, IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {IngestLoadRun.Median(list).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", list.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));
    }

    private static async Task<Run> RunOnceAsync(string wrk, string script, int concurrency, int seconds)
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
            await WaitForLiveAsync(port, web);
            // Untimed first: connections, and the JIT's tiering, which a long-running web role has long finished.
            await WrkAsync(wrk, script, url, concurrency, WarmUpSeconds);
            var before = await BotMetrics.ReadAsync(port);
            await using var dataSource = NpgsqlDataSource.Create(cs);
            var storedBefore = await StoredAsync(dataSource);
            var webCpu = IngestLoadRun.CpuSeconds(web.Id);
            var machine = MachineCpu.Read();
            var postgres = MachineCpu.ByName("postgres");
            var result = await WrkAsync(wrk, script, url, concurrency, seconds);
            var (busy, total) = MachineCpu.Read() - machine;
            var postgresUsed = MachineCpu.ByName("postgres") - postgres;
            var webUsed = IngestLoadRun.CpuSeconds(web.Id) - webCpu;
            var after = await BotMetrics.ReadAsync(port);
            var stored = await StoredAsync(dataSource) - storedBefore;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {result.Requests:N0} deliveries answered 200 in {result.Seconds:F1} s; web role CPU {webUsed:F1} s, PostgreSQL {postgresUsed:F1} s, machine busy {busy:F1} of {total:F1} CPU-s; " +
                $"JIT {after.Value("dotnet_jit_compilation_time_seconds_total") - before.Value("dotnet_jit_compilation_time_seconds_total"):N2} s, GC pauses {after.Value("dotnet_gc_pause_time_seconds_total") - before.Value("dotnet_gc_pause_time_seconds_total"):N2} s"));
            if (result.Failures > 0 || stored < result.Requests || stored > result.Requests + concurrency)
            {
                throw new InvalidOperationException($"{result.Requests} deliveries answered 200 ({result.Failures} otherwise), but the inbox gained {stored}");
            }
            var commits = after.Value("chatstats_inbox_group_size_count") - before.Value("chatstats_inbox_group_size_count");
            var grouped = after.Value("chatstats_inbox_group_size_sum") - before.Value("chatstats_inbox_group_size_sum");
            return new Run(result.Requests / result.Seconds, grouped / Math.Max(1, commits), IngestLoadRun.PeakRssMb(web.Id),
                result.P50Ms, result.P99Ms, webUsed * 1e6 / Math.Max(1, result.Requests));
        }
        finally
        {
            IngestLoadRun.Stop(web);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task<long> StoredAsync(NpgsqlDataSource dataSource)
    {
        await using var cmd = dataSource.CreateCommand("SELECT coalesce(sum(update_count), 0)::bigint FROM update_inbox");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private sealed record WrkResult(long Requests, long Failures, double Seconds, double P50Ms, double P99Ms);

    private static async Task<WrkResult> WrkAsync(string wrk, string script, string url, int concurrency, int seconds)
    {
        var start = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-t2", $"-c{concurrency}", $"-d{seconds}s", "--latency", "--timeout", "30s", "-s", script, url })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 || RequestsLine().Match(output) is not { Success: true } requests)
        {
            throw new InvalidOperationException($"wrk failed: {output}{await process.StandardError.ReadToEndAsync()}");
        }
        var failures = NonOkLine().Match(output) is { Success: true } f ? long.Parse(f.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socketErrors = SocketErrorsLine().Match(output) is { Success: true } e ? e.Groups.Cast<Group>().Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture)) : 0;
        return new WrkResult(long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture) - failures, failures + socketErrors,
            double.Parse(requests.Groups[2].Value, CultureInfo.InvariantCulture), Percentile(output, "50%"), Percentile(output, "99%"));
    }

    private static double Percentile(string output, string which)
    {
        var match = Regex.Match(output, $@"^\s+{Regex.Escape(which)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"(\d+) requests in ([\d.]+)s")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"non-200: (\d+)")]
    private static partial Regex NonOkLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();

    /// <summary>Each wrk thread posts the generated updates in turn, every one with the secret header, and counts answers other than 200.</summary>
    private static string Script(string bodies) => $$"""
        local bodies = {}
        for line in io.lines("{{bodies}}") do bodies[#bodies + 1] = line end
        local threads = {}
        function setup(thread) table.insert(threads, thread) end
        function init(args) next_body = math.random(#bodies); failed = 0 end
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = "{{Secret}}"
        function request()
          next_body = next_body % #bodies + 1
          return wrk.format(nil, nil, nil, bodies[next_body])
        end
        function response(status, headers, body) if status ~= 200 then failed = failed + 1 end end
        function done(summary, latency, requests)
          local total = 0
          for _, thread in ipairs(threads) do total = total + thread:get("failed") end
          io.write(string.format("non-200: %d\n", total))
        end
        """;

    private static async Task WaitForLiveAsync(int port, Process web)
    {
        using var http = new HttpClient();
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
