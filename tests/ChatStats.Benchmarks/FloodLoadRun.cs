using System.Diagnostics;
using System.Globalization;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// The flood of issue #12, end to end: the bot as deployed (a child process) against a Bot API stand-in in this process
/// that enforces Telegram's limits on arrival, on its own clock, with network delays each way. Each run: history in 50
/// groups; then as many plain messages as the flood has commands, timed from handing them over to the last one
/// recorded; then the flood itself (1,000 people sending six statistics commands each at once), timed the same way;
/// then the answers are let out, and what Telegram saw and what the bot shed and merged is read off both sides.
/// </summary>
internal static class FloodLoadRun
{
    private const int Groups = 50;
    private const int People = 1_000;
    private static readonly string[] Commands = ["/stats", "/top 7d", "/me", "/stats", "/top 7d", "/me 30d"];

    internal sealed record FloodResult(double PlainSeconds, double FloodSeconds, int Sent, int Refused, double Coalesced, double Shed,
        IReadOnlyDictionary<string, double> ShedByReason, double Stale, double AnswerSeconds, double ReplyP50, double ReplyP95, double ReplyP99, double LimitWaitP50,
        double ChatQueueP50, double ChatQueueP95);

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        var history = IngestLoadRun.Option(args, "--history", 20_000);
        var delayMs = IngestLoadRun.Option(args, "--network-ms", 150);
        // --commands "/x,/y": another flood, for instance commands no handler knows (recorded and dispatched, never answered).
        var commands = IngestLoadRun.Text(args, "--commands")?.Split(',') ?? Commands;
        IngestLoadRun.UseBenchServer();
        // --against-bot DIR (deploy/dev.sh bench flood --against REV): another commit's bot, interleaved with this one.
        var builds = new List<(string Label, string Dir)> { ("this build", AppContext.BaseDirectory) };
        if (IngestLoadRun.Text(args, "--against-bot") is { } against)
        {
            builds.Add((IngestLoadRun.Text(args, "--against-label") ?? "other build", Path.GetFullPath(against)));
        }
        var all = builds.ToDictionary(b => b.Label, _ => new List<FloodResult>());
        for (var run = 1; run <= runs; run++)
        {
            foreach (var (label, dir) in run % 2 == 1 ? builds : Enumerable.Reverse(builds))
            {
                var result = await RunOnceAsync(dir, history, TimeSpan.FromMilliseconds(delayMs), commands);
                all[label].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}, {label}: {commands.Length * People:N0} plain messages recorded in {result.PlainSeconds:F2} s, the flood of {commands.Length * People:N0} commands in {result.FloodSeconds:F2} s ({result.FloodSeconds / result.PlainSeconds:P0}); "
                + $"{result.Sent:N0} sends, {result.Refused} refused with 429; {result.Coalesced:N0} questions answered with an identical one, {result.Shed:N0} answers given up "
                + $"({string.Join(", ", result.ShedByReason.Select(r => $"{r.Key} {r.Value:N0}"))}), {result.Stale:N0} replies dropped stale; answers drained {result.AnswerSeconds:F0} s after the flood"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        foreach (var (label, results) in all)
        {
            var prefix = all.Count > 1 ? $"{label}: " : "";
            Row(prefix + "plain messages recorded, s", results.Select(r => r.PlainSeconds), "N2");
            Row(prefix + "flood of commands recorded, s", results.Select(r => r.FloodSeconds), "N2");
            Row(prefix + "flood / plain (bar: at most 125 %)", results.Select(r => r.FloodSeconds / r.PlainSeconds), "P0");
            Row(prefix + "sends", results.Select(r => (double)r.Sent), "N0");
            Row(prefix + "429s (Telegram refused)", results.Select(r => (double)r.Refused), "N0");
            Row(prefix + "429s per send (bar: at most 0.5 %)", results.Select(r => r.Sent == 0 ? 0 : (double)r.Refused / r.Sent), "P2");
            Row(prefix + "questions merged into an identical one", results.Select(r => r.Coalesced), "N0");
            Row(prefix + "answers given up (recorded, not answered)", results.Select(r => r.Shed), "N0");
            Row(prefix + "replies dropped as stale", results.Select(r => r.Stale), "N0");
            Row(prefix + "answers drained after the flood was recorded, s", results.Select(r => r.AnswerSeconds), "N0");
            Row(prefix + "reply latency outside Telegram's limits, p50 ms (turn in its chat → first send)", results.Select(r => r.ReplyP50 * 1000), "N0");
            Row(prefix + "reply latency outside Telegram's limits, p95 ms", results.Select(r => r.ReplyP95 * 1000), "N0");
            Row(prefix + "reply latency outside Telegram's limits, p99 ms", results.Select(r => r.ReplyP99 * 1000), "N0");
            Row(prefix + "first send's wait for Telegram's limits, p50 s", results.Select(r => r.LimitWaitP50), "N2");
            Row(prefix + "wait behind earlier answers in the same chat, p50 s", results.Select(r => r.ChatQueueP50), "N2");
            Row(prefix + "wait behind earlier answers in the same chat, p95 s", results.Select(r => r.ChatQueueP95), "N2");
        }
        return 0;
    }

    private static void Row(string label, IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {IngestLoadRun.Median(list).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", list.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));
    }

    private static async Task<FloodResult> RunOnceAsync(string botDir, int historyCount, TimeSpan networkDelay, string[] commands)
    {
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("flood");
        await IngestLoadRun.MigrateAsync(botDir, cs);
        // Telegram's side: its own clock (this process's), its limits counted on arrival, calls delayed each way.
        await using var api = await FakeBotApi.StartAsync();
        api.Limits = new FakeLimits();
        api.NetworkDelay = (networkDelay / 3, networkDelay);
        var webPort = IngestLoadRun.FreePort();
        using var bot = IngestLoadRun.StartBot(botDir, "run", cs, new Dictionary<string, string>
        {
            ["Web__Urls"] = $"http://127.0.0.1:{webPort}",
            ["TELEGRAM_API_BASE_URL"] = api.BaseUrl,
        }, echo: false);
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(cs);
            var groups = Enumerable.Range(0, Groups).Select(g => new FakeChat(-100_700_000 - g, $"Flood {g}")).ToList();
            var people = Enumerable.Range(0, People).Select(p => new FakeUser(70_000 + p, $"Person {p}")).ToList();
            var messageId = 0;
            var date = UpdateFactory.BaseDate;
            string From(int p, string text) => UpdateFactory.Message(groups[p % Groups], ++messageId, people[p], date++, text);

            // History first, so the statistics have something to count.
            var rows = 0L;
            rows += historyCount;
            api.AddUpdates(Enumerable.Range(0, historyCount).Select(i => From(i % People, $"history {i}: some words to count in the word statistics")));
            await IngestLoadRun.WaitUntilRecordedAsync(api, dataSource, rows, bot, TimeSpan.FromMinutes(5));

            // As many plain messages as the flood has commands, from the same people in the same order.
            var plain = Enumerable.Range(0, commands.Length).SelectMany(round => Enumerable.Range(0, People).Select(p => From(p, $"just chatting, round {round}"))).ToList();
            rows += plain.Count;
            var started = Stopwatch.GetTimestamp();
            api.AddUpdates(plain);
            await IngestLoadRun.WaitUntilRecordedAsync(api, dataSource, rows, bot, TimeSpan.FromMinutes(5));
            var plainSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

            // The flood: everyone sends six statistics commands at once.
            var flood = Enumerable.Range(0, commands.Length).SelectMany(round => Enumerable.Range(0, People).Select(p => From(p, commands[round % commands.Length]))).ToList();
            rows += flood.Count;
            started = Stopwatch.GetTimestamp();
            api.AddUpdates(flood);
            // Generous: a build whose recording waits for answers took minutes here.
            await IngestLoadRun.WaitUntilRecordedAsync(api, dataSource, rows, bot, TimeSpan.FromMinutes(10));
            var floodSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

            // The answers go out at Telegram's pace (20 a minute per group): wait until nothing is queued or on its way.
            var recorded = Stopwatch.GetTimestamp();
            var metrics = await BotMetrics.WhenAnsweredAsync(webPort, TimeSpan.FromMinutes(6));
            var answerSeconds = Stopwatch.GetElapsedTime(recorded).TotalSeconds;
            var shed = metrics.ByLabel("chatstats_dispatch_shed_total", "reason");
            return new FloodResult(plainSeconds, floodSeconds, api.Sent.Count, api.TooManyRequests, metrics.Sum("chatstats_dispatch_coalesced_total"),
                shed.Values.Sum(), shed, metrics.Sum("chatstats_telegram_stale_replies_dropped_total"), answerSeconds,
                metrics.Quantile("chatstats_reply_latency_seconds", 0.5), metrics.Quantile("chatstats_reply_latency_seconds", 0.95),
                metrics.Quantile("chatstats_reply_latency_seconds", 0.99), metrics.Quantile("chatstats_reply_limit_wait_seconds", 0.5),
                metrics.Quantile("chatstats_reply_chat_queue_wait_seconds", 0.5), metrics.Quantile("chatstats_reply_chat_queue_wait_seconds", 0.95));
        }
        finally
        {
            IngestLoadRun.Stop(bot);
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }
}
