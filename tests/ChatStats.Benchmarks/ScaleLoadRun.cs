using System.Diagnostics;
using System.Globalization;
using ChatStats.Testing;
using Npgsql;

namespace ChatStats.Benchmarks;

/// <summary>
/// Issue #17's load run: the same deployment with one `chatstats bot` process and with two (one token, one PostgreSQL,
/// one Redis holding the limits), interleaved in the same run. Each measurement: plain messages in 50 groups, timed from
/// handing them to the Bot API stand-in to the last one recorded (updates/s recorded); then a question from each of
/// many people in their private chats at once, timed to the last answer at the stand-in (commands/s answered). The
/// stand-in's overall limit is raised (and the bot told so), so what is measured is the bot and its database, not
/// Telegram's 30 messages/s per token, which no number of processes lifts.
/// </summary>
internal static class ScaleLoadRun
{
    private const int Groups = 50;

    /// <summary>One measurement, with the CPU seconds the bots, PostgreSQL and Redis spent on each phase.</summary>
    internal sealed record ScaleResult(int Instances, double RecordSeconds, int Messages, double AnswerSeconds, int Askers, int Refused,
        Cpu Recording, Cpu Answering);

    internal readonly record struct Cpu(double Bots, double Postgres, double Redis)
    {
        public static Cpu operator -(Cpu a, Cpu b) => new(a.Bots - b.Bots, a.Postgres - b.Postgres, a.Redis - b.Redis);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        var messages = IngestLoadRun.Option(args, "--messages", 40_000);
        var askers = IngestLoadRun.Option(args, "--askers", 2_000);
        var instances = (IngestLoadRun.Text(args, "--instances") ?? "1,2").Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture)).ToArray();
        IngestLoadRun.UseBenchServer();
        await using var redis = await RedisServer.StartNewAsync();
        var all = instances.ToDictionary(n => n, _ => new List<ScaleResult>());
        for (var run = 1; run <= runs; run++)
        {
            foreach (var n in run % 2 == 1 ? instances : instances.Reverse())
            {
                var result = await RunOnceAsync(n, messages, askers, redis, $"bench{run}x{n}:");
                all[n].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run}, {n} bot process(es): {result.Messages:N0} messages recorded in {result.RecordSeconds:F2} s ({result.Messages / result.RecordSeconds:N0}/s); "
                    + $"{result.Askers:N0} questions answered in {result.AnswerSeconds:F2} s ({result.Askers / result.AnswerSeconds:N0}/s); {result.Refused} sends refused with 429"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| measure | median | runs |");
        Console.WriteLine("|---|---|---|");
        foreach (var (n, results) in all)
        {
            var label = n == 1 ? "1 process" : $"{n} processes";
            Row($"{label}: updates/s recorded", results.Select(r => r.Messages / r.RecordSeconds), "N0");
            Row($"{label}: commands/s answered", results.Select(r => r.Askers / r.AnswerSeconds), "N0");
            Row($"{label}: 429s", results.Select(r => (double)r.Refused), "N0");
            Row($"{label}: recording, bot CPU s per 10,000 updates", results.Select(r => r.Recording.Bots * 10_000 / r.Messages), "N2");
            Row($"{label}: recording, PostgreSQL CPU s per 10,000 updates", results.Select(r => r.Recording.Postgres * 10_000 / r.Messages), "N2");
            Row($"{label}: answering, bot CPU s per 1,000 answers", results.Select(r => r.Answering.Bots * 1_000 / r.Askers), "N2");
            Row($"{label}: answering, PostgreSQL CPU s per 1,000 answers", results.Select(r => r.Answering.Postgres * 1_000 / r.Askers), "N2");
            Row($"{label}: answering, Redis CPU s per 1,000 answers", results.Select(r => r.Answering.Redis * 1_000 / r.Askers), "N2");
        }
        if (all.TryGetValue(1, out var one) && all.Keys.Where(n => n > 1).ToList() is [var more, ..])
        {
            // Paired by run: both measured back to back on the same machine.
            Row($"{more} processes / 1, recording", one.Zip(all[more], (a, b) => a.RecordSeconds / b.RecordSeconds), "P0");
            Row($"{more} processes / 1, answering", one.Zip(all[more], (a, b) => a.AnswerSeconds / b.AnswerSeconds), "P0");
        }
        return 0;
    }

    private static void Row(string label, IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {IngestLoadRun.Median(list).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", list.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} |"));
    }

    private static async Task<ScaleResult> RunOnceAsync(int instances, int messageCount, int askerCount, RedisServer redis, string keyPrefix)
    {
        var botDir = AppContext.BaseDirectory;
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("scale");
        await IngestLoadRun.MigrateAsync(botDir, cs);
        await using var api = await FakeBotApi.StartAsync();
        // Telegram's per-chat and per-group limits as they are; the overall one raised on both sides (see the class summary).
        api.Limits = new FakeLimits { Global = 1_000 };
        api.NetworkDelay = (TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(30));
        var environment = new Dictionary<string, string>
        {
            ["TELEGRAM_API_BASE_URL"] = api.BaseUrl,
            ["REDIS_URL"] = redis.Url,
            ["Redis__KeyPrefix"] = keyPrefix,
            ["Sender__GlobalPerSecond"] = "1000",
            ["Limits__MaxActiveChats"] = "0",
            ["Limits__DailyHeavyQuota"] = "0",
            ["Ingest__MaxWaitingAnswers"] = "10000",
        };
        var bots = Enumerable.Range(0, instances).Select(_ => IngestLoadRun.StartBot(botDir, "bot", cs, environment, echo: false)).ToList();
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(cs);
            await IngestLoadRun.WaitAsync(() => api.GetUpdatesCalls > 0, bots[0], TimeSpan.FromMinutes(1));
            // Every instance up (its heartbeat written), so the second one records and answers from the start.
            await IngestLoadRun.WaitAsync(() => Scalar(dataSource, "SELECT count(*) FROM instances WHERE role = 'bot'") >= instances, bots[0], TimeSpan.FromMinutes(1));

            var groups = Enumerable.Range(0, Groups).Select(g => new FakeChat(-100_800_000 - g, $"Scale {g}")).ToList();
            var date = UpdateFactory.BaseDate;
            var plain = Enumerable.Range(0, messageCount).Select(i =>
                UpdateFactory.Message(groups[i % Groups], i + 1, new FakeUser(80_000 + i % 1_000, $"Person {i % 1_000}"), date + i, $"message {i}: a few words to count")).ToList();
            var cpu = CpuNow(bots);
            var started = Stopwatch.GetTimestamp();
            api.AddUpdates(plain);
            await IngestLoadRun.WaitUntilRecordedAsync(api, dataSource, messageCount, bots[0], TimeSpan.FromMinutes(5));
            var recordSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var recording = CpuNow(bots) - cpu;

            // Each person asks once in their own private chat: nothing merges, no chat's pace binds, every answer is computed.
            var questions = Enumerable.Range(0, askerCount).Select(p =>
            {
                var person = new FakeUser(80_000 + p, $"Person {p}");
                return UpdateFactory.Message(new FakeChat(person.Id, person.FirstName, Type: "private"), 1, person, date + messageCount, "/me");
            }).ToList();
            var sentBefore = api.Sent.Count;
            cpu = CpuNow(bots);
            started = Stopwatch.GetTimestamp();
            api.AddUpdates(questions);
            await IngestLoadRun.WaitAsync(() => api.Sent.Count - sentBefore >= askerCount, bots[0], TimeSpan.FromMinutes(5));
            var answerSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var answering = CpuNow(bots) - cpu;
            return new ScaleResult(instances, recordSeconds, messageCount, answerSeconds, askerCount, api.TooManyRequests, recording, answering);
        }
        finally
        {
            foreach (var bot in bots)
            {
                IngestLoadRun.Stop(bot);
            }
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static Cpu CpuNow(IEnumerable<Process> bots) =>
        new(bots.Sum(b => IngestLoadRun.CpuSeconds(b.Id)), CpuOf("postgres"), CpuOf("redis-server"));

    /// <summary>
    /// CPU seconds of every process named <paramref name="command"/>, with what their exited children used (a PostgreSQL
    /// backend that ended is counted in the postmaster's). Run on a machine where only the benchmark's cluster is busy.
    /// </summary>
    private static double CpuOf(string command)
    {
        var ticks = 0L;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (open < 0 || close < 0 || !stat[(open + 1)..close].StartsWith(command, StringComparison.Ordinal))
                {
                    continue;
                }
                var fields = stat[(close + 2)..].Split(' ');
                ticks += fields[11..15].Sum(f => long.Parse(f, CultureInfo.InvariantCulture));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // A process that ended while being read.
            }
        }
        return ticks / 100.0;
    }

    private static long Scalar(NpgsqlDataSource dataSource, string sql)
    {
        using var cmd = dataSource.CreateCommand(sql);
        return (long)cmd.ExecuteScalar()!;
    }
}
