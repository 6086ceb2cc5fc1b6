using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Commands.Statistics;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Summaries;
using ChatStats.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ChatStats.Bot.Data;

namespace ChatStats.Benchmarks;

/// <summary>
/// Server-side time of the statistics commands on a big chat: a chat seeded with N messages from M members over two
/// years (messages and the rollup built by SQL, exactly as ingest would have left them), then each command's queries
/// and rendering — from handler start to reply ready, Telegram excluded — timed repeatedly. p50 and p95 per command.
/// </summary>
internal static class StatsLoadRun
{
    internal const long ChatId = -1_000_000_000_777;
    internal const int Members = 5_000;
    private static readonly CultureInfo En = CultureInfo.GetCultureInfo("en");

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = IngestLoadRun.Option(args, "--messages", 1_000_000);
        var members = IngestLoadRun.Option(args, "--members", Members);
        var iterations = IngestLoadRun.Option(args, "--iterations", 40);
        if (Environment.GetEnvironmentVariable("CHATSTATS_BENCH_SERVER_URL") is { } server)
        {
            Environment.SetEnvironmentVariable(PostgresServer.UrlVariable, server);
        }
        var cs = await PostgresServer.CreateDatabaseAsync("stats");
        await using var dataSource = new NpgsqlDataSourceBuilder(cs).Build();
        var seeding = Stopwatch.StartNew();
        await SeedAsync(dataSource, messages, members);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {messages:N0} messages from {members:N0} members over 730 days in {seeding.Elapsed.TotalSeconds:F0} s"));

        var folding = Stopwatch.StartNew();
        var folded = await ChatStats.Bot.Data.WordRollup.FoldAsync(dataSource, CancellationToken.None);
        var foldSeconds = folding.Elapsed.TotalSeconds;
        var packedDays = await ChatStats.Bot.Data.WordRollup.PackAsync(dataSource, DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"word rollup: {folded:N0} texts folded in {foldSeconds:F0} s ({folded / foldSeconds:N0} texts/s), {packedDays} days packed in {folding.Elapsed.TotalSeconds - foldSeconds:F0} s: what the migration's backfill costs"));
        // The backfill wrote every day's words as rows and packed them away: give the space back, as the steady state
        // (today's rows, late changes) would look.
        foreach (var vacuum in new[] { "VACUUM FULL ANALYZE chat_word_daily", "VACUUM ANALYZE chat_words, chat_word_days, chat_member_word_days, chat_member_words" })
        {
            await using var analyze = dataSource.CreateCommand(vacuum);
            analyze.CommandTimeout = 0;
            await analyze.ExecuteNonQueryAsync();
        }
        await using (var sizes = dataSource.CreateCommand("""
            SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
            FROM pg_class c WHERE c.relname IN ('messages', 'chat_user_hourly', 'chat_word_daily', 'chat_words', 'chat_word_days', 'chat_member_word_days', 'chat_member_words') ORDER BY 1
            """))
        await using (var reader = await sizes.ExecuteReaderAsync())
        {
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| table ({messages:N0} messages) | rows | MB | rows per 1M messages | MB per 1M messages |"));
            Console.WriteLine("|---|---|---|---|---|");
            while (await reader.ReadAsync())
            {
                var (rows, mb) = (reader.GetInt64(1), reader.GetInt64(2) / 1048576.0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {reader.GetString(0)} | {rows:N0} | {mb:N0} | {rows * 1e6 / messages:N0} | {mb * 1e6 / messages:N1} |"));
            }
        }

        var queries = new StatsQueries(dataSource);
        var words = new WordQueries(dataSource, TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        var all = Period.TryParse("all", TimeZoneInfo.Utc, now, out _)!;
        var month = Period.TryParse("30d", TimeZoneInfo.Utc, now, out _)!;
        var busiest = await MemberAsync(dataSource, 0.0);
        var median = await MemberAsync(dataSource, 0.5);
        var chat = (await queries.ChatAsync(ChatId, CancellationToken.None))!;
        var request = new StatsRequest(chat, all, [], "all time");
        var context = new CommandContext(
            new global::Telegram.Bot.Types.Message { Id = 1, Date = DateTime.UnixEpoch, Chat = new global::Telegram.Bot.Types.Chat { Id = ChatId, Type = global::Telegram.Bot.Types.Enums.ChatType.Supergroup } },
            new ParsedCommand("stats", "all"), En);

        var renderer = new ChartRenderer(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), Microsoft.Extensions.Logging.Abstractions.NullLogger<ChartRenderer>.Instance);
        // /summary: the offline summary as the bot computes it, and the model's path against a fake model that answers
        // at once — what ChatStats adds to whatever the provider takes.
        await using var fakeModel = await FakeOpenAi.StartAsync();
        var summaryServices = SummaryServices(dataSource, fakeModel.BaseUrl);
        var source = summaryServices.GetRequiredService<SummarySource>();
        var summarizer = summaryServices.GetRequiredService<AiSummarizer>();
        var day = Period.TryParse("1d", TimeZoneInfo.Utc, now, out _)!;
        var cases = new (string Name, Func<Task<int>> Run)[]
        {
            ("/summary 30d computed here: texts read, digest, message", async () =>
            {
                var lines = await source.ReadAsync(ChatId, month, CancellationToken.None);
                var digest = await source.DigestAsync(ChatId, month, lines, CancellationToken.None);
                return SummaryText.Offline(digest, context).Length;
            }),
            ("/summary 1d by a model answering at once: texts read, parts, requests", async () =>
            {
                var lines = await source.ReadAsync(ChatId, day, CancellationToken.None);
                var summary = await summarizer.SummarizeAsync(new SummaryRequest(ChatId, "Big chat", TimeZoneInfo.Utc, day, "1d", "English", 350), lines, long.MaxValue, CancellationToken.None);
                return SummaryText.FromModel(summary.Text).Length + summary.Parts;
            }),
            ("/stats all", async () =>
            {
                var o = await queries.OverviewAsync(ChatId, all, CancellationToken.None);
                var top = await queries.TopAsync(ChatId, all, 5, TopMetric.Messages, CancellationToken.None);
                return StatsCommand.Render(request, o, top, context).Length;
            }),
            ("/top all", async () =>
            {
                var board = await queries.TopAsync(ChatId, all, 10, TopMetric.Messages, CancellationToken.None);
                var text = new StringBuilder();
                TopCommand.AppendRows(text, board, En);
                return text.Length;
            }),
            ("/activity all (data + SVG)", async () =>
            {
                var grid = await queries.HeatmapAsync(ChatId, all, CancellationToken.None);
                return SvgChart.Heatmap("Activity", grid, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "max", En).Length;
            }),
            ("/activity all (data + SVG + PNG: the whole answer)", async () =>
            {
                var grid = await queries.HeatmapAsync(ChatId, all, CancellationToken.None);
                var svg = SvgChart.Heatmap("Messages by hour and weekday, all time", grid, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "darkest cell:", En);
                return (await renderer.ToPngAsync(svg, CancellationToken.None))!.Length;
            }),
            ("/history 30d (data + SVG + PNG: the whole answer)", async () =>
            {
                var days = await queries.HistoryAsync(ChatId, month, CancellationToken.None);
                var svg = SvgChart.LineChart("Messages per day, last 30 days", [.. days.Select(d => new Point(d.Day.ToString("d MMM", En), d.Messages))], 7, En);
                return (await renderer.ToPngAsync(svg, CancellationToken.None))!.Length;
            }),
            ("/me all", async () =>
            {
                var member = await queries.MemberAsync(ChatId, busiest, all, CancellationToken.None);
                return MemberCommand.Render(member!, request, context).Length;
            }),
            ("/history all (data + SVG)", async () =>
            {
                var days = await queries.HistoryAsync(ChatId, all, CancellationToken.None);
                return SvgChart.LineChart("History", [.. days.Select(d => new Point(d.Day.ToString("d MMM", En), d.Messages))], 7, En).Length;
            }),
            ("/words 30d", async () => (await words.TopAsync(ChatId, month, null, WordsCommand.Count, CancellationToken.None)).Words.Count),
            ("/words all", async () => (await words.TopAsync(ChatId, all, null, WordsCommand.Count, CancellationToken.None)).Words.Count),
            ("/words @busiest 30d", async () => (await words.TopAsync(ChatId, month, busiest, WordsCommand.Count, CancellationToken.None)).Words.Count),
            ("/words @busiest all", async () => (await words.TopAsync(ChatId, all, busiest, WordsCommand.Count, CancellationToken.None)).Words.Count),
            ("/words @median-member 30d", async () => (await words.TopAsync(ChatId, month, median, WordsCommand.Count, CancellationToken.None)).Words.Count),
            ("/words @busiest 30d counted from the member's texts (before, same run)", () => CountTextsAsync(dataSource, month, busiest)),
            ("/words 30d counted from the texts (before the rollup, same run)", () => CountTextsAsync(dataSource, month, null)),
        };

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| command ({messages:N0} messages) | p50 ms | p95 ms | max ms |"));
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, run) in cases)
        {
            // Warm-up: JIT, plans, the cache.
            for (var i = 0; i < 3; i++)
            {
                await run();
            }
            var times = new List<double>();
            for (var i = 0; i < iterations; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await run();
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            times.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {Percentile(times, 0.5):F1} | {Percentile(times, 0.95):F1} | {times[^1]:F1} |"));
        }

        // The 30-day report: HTML with every chart, printed by weasyprint (a child process), from job start to PDF bytes.
        var limits = Microsoft.Extensions.Options.Options.Create(new ChatStats.Bot.Throttling.LimitsOptions());
        using var limiters = new ChatStats.Bot.Throttling.CommandLimiters(limits, TimeProvider.System);
        var pdf = new ChatStats.Bot.Reports.PdfRenderer(limiters, new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ChatStats.Bot.Reports.PdfRenderer>.Instance);
        var builder = new ChatStats.Bot.Reports.ReportBuilder(queries, words);
        var reportTimes = new List<double>();
        var size = 0;
        for (var i = 0; i < 6; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var html = await builder.BuildAsync(ChatId, "30d", DateTimeOffset.UtcNow, CancellationToken.None);
            size = (await pdf.RenderAsync(html!, CancellationToken.None)).Length;
            if (i > 0)
            {
                reportTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        reportTimes.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| /report 30d: data, HTML and PDF ({size / 1024} KB) | {Percentile(reportTimes, 0.5):F0} | {Percentile(reportTimes, 0.95):F0} | {reportTimes[^1]:F0} |"));

        // Charts drawn in process (Svg.Skia), timed apart so the query path is not hidden behind them; the first draw
        // (fonts found, native library loaded) is left out. rsvg-convert, what the bot used before, is timed in the
        // same run when it is installed, for comparison.
        var heatmap = SvgChart.Heatmap("Messages by hour and weekday, all time", await queries.HeatmapAsync(ChatId, all, CancellationToken.None), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "darkest cell:", En);
        var history = SvgChart.LineChart("Messages per day, last 30 days",
            [.. (await queries.HistoryAsync(ChatId, month, CancellationToken.None)).Select(d => new Point(d.Day.ToString("d MMM", En), d.Messages))], 7, En);
        var rsvg = ChatStats.Bot.Configuration.ProgramPath.Find("rsvg-convert");
        foreach (var (label, svg) in new[] { ("heatmap", heatmap), ("history", history) })
        {
            _ = await renderer.ToPngAsync(svg, CancellationToken.None);
            var inProcess = new List<double>();
            var child = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var started = Stopwatch.GetTimestamp();
                _ = await renderer.ToPngAsync(svg, CancellationToken.None) ?? throw new InvalidOperationException("no PNG");
                inProcess.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (rsvg is not null)
                {
                    started = Stopwatch.GetTimestamp();
                    _ = await ChildProcess.RunAsync(rsvg, ["--zoom=2", "--format=png"], System.Text.Encoding.UTF8.GetBytes(svg), TimeSpan.FromSeconds(15), CancellationToken.None);
                    child.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
            inProcess.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {label} SVG → PNG in process (Svg.Skia) | {Percentile(inProcess, 0.5):F1} | {Percentile(inProcess, 0.95):F1} | {inProcess[^1]:F1} |"));
            if (child.Count > 0)
            {
                child.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {label} SVG → PNG, rsvg-convert process (before, same run) | {Percentile(child, 0.5):F1} | {Percentile(child, 0.95):F1} | {child[^1]:F1} |"));
            }
        }
        return 0;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>What /summary needs, wired as the bot wires it, with the model at <paramref name="endpoint"/> and no token cap.</summary>
    private static ServiceProvider SummaryServices(NpgsqlDataSource dataSource, string endpoint)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(dataSource);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new AiOptions { Endpoint = endpoint, ApiKey = "bench", Model = FakeOpenAi.Model, MaxTokensPerChatPerDay = 0 }));
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new ChatStats.Bot.Throttling.LimitsOptions()));
        AiClient.Register(services);
        services.AddSingleton<ChatStats.Bot.Throttling.DailyQuota>();
        services.AddSingleton<AiBudget>();
        services.AddSingleton<AiSummarizer>();
        services.AddSingleton(sp => new WordQueries(dataSource, TimeProvider.System));
        services.AddSingleton<SummarySource>();
        return services.BuildServiceProvider();
    }

    /// <summary>The top words of a period counted from the texts, as /words did before the word rollup.</summary>
    private static async Task<int> CountTextsAsync(NpgsqlDataSource dataSource, Period period, long? member)
    {
        var counter = new WordCounter();
        await using var cmd = dataSource.CreateCommand(
            "SELECT text FROM messages WHERE chat_id = $1 AND sent_at >= $2 AND sent_at < $3 AND text IS NOT NULL AND counted AND ($4::bigint IS NULL OR sender_user_id = $4)");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ChatId });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.From!.Value });
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = period.To });
        cmd.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = member });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counter.Add(reader.GetString(0));
        }
        return counter.Top(WordsCommand.Count).Count;
    }

    /// <summary>The member at this rank of activity: 0 the busiest, 0.5 the median one.</summary>
    private static async Task<long> MemberAsync(NpgsqlDataSource dataSource, double rank)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT user_id FROM chat_user_totals WHERE chat_id = {ChatId} AND messages > 0 ORDER BY messages DESC OFFSET (SELECT floor({rank.ToString(CultureInfo.InvariantCulture)} * count(*))::int FROM chat_user_totals WHERE chat_id = {ChatId} AND messages > 0) LIMIT 1");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// One slice of the messages: texts of eight words drawn from a 50,000-word vocabulary in two scripts by Zipf's law
    /// (the n-th word about 1/n as often as the first, as in real chats), so a day holds thousands of distinct words.
    /// </summary>
    private static string MessageSlice(int first, int last, int messages, int members) => $"""
        WITH voc AS (SELECT array_agg(CASE WHEN g % 2 = 0 THEN 'word' || g ELSE 'слово' || g END ORDER BY g) AS a FROM generate_series(0, {Vocabulary - 1}) g)
        INSERT INTO messages (chat_id, message_id, sender_user_id, sent_at, kind, text, char_count, word_count, counted,
                              reply_to_message_id, reply_to_user_id, is_forwarded)
        SELECT {ChatId}, g, 1000000 + 1 + floor({members} * power(random(), 3))::int,
               now() - interval '730 days' + (g::float8 / {messages}) * interval '730 days' + (random() * interval '2 hours'),
               CASE WHEN g % 10 = 0 THEN 1 ELSE 0 END,
               t.text, length(t.text), 8, true,
               CASE WHEN g % 5 = 0 AND g > 1 THEN g - 1 END,
               CASE WHEN g % 5 = 0 AND g > 1 THEN 1000000 + 1 + floor({members} * random())::int END,
               false
        FROM voc, generate_series({first}, {last}) g
        CROSS JOIN LATERAL (SELECT string_agg(voc.a[least({Vocabulary}, floor(exp(random() * ln({Vocabulary})))::int) + 0 * k], ' ') AS text
                            FROM generate_series(1, 8) k WHERE g > 0) t
        """;

    private const int Vocabulary = 50_000;

    /// <summary>
    /// Messages spread over 730 days with a daily rhythm; members' activity skewed (a few talk a lot); texts of eight
    /// words (<see cref="MessageSlice"/>). The hourly rollup is a recount of the messages, as ingest keeps it; the word rollup
    /// is what the triggers left pending, folded (timed: it is what the migration's backfill costs).
    /// </summary>
    internal static async Task SeedAsync(NpgsqlDataSource dataSource, int messages, int members)
    {
        string[] statements =
        [
            $"INSERT INTO chats (id, type, title, is_forum, first_seen_at, updated_at) VALUES ({ChatId}, 'supergroup', 'Big chat', false, now() - interval '730 days', now())",
            $"""
            INSERT INTO users (id, is_bot, first_name, first_seen_at, updated_at)
            SELECT 1000000 + g, false, 'Member ' || g, now(), now() FROM generate_series(1, {members}) g
            """,
            $"""
            INSERT INTO chat_user_hourly (chat_id, hour, user_id, messages, words, chars, text_count, photo_count, sticker_count, voice_count,
                                          video_count, video_note_count, audio_count, document_count, animation_count, poll_count,
                                          location_count, contact_count, dice_count, other_count)
            SELECT chat_id, date_trunc('hour', sent_at, 'UTC'), sender_user_id, count(*), sum(word_count), sum(char_count),
                   count(*) FILTER (WHERE kind = 0), count(*) FILTER (WHERE kind = 1), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            FROM messages WHERE chat_id = {ChatId} GROUP BY 1, 2, 3
            """,
            "VACUUM ANALYZE messages",
            "VACUUM ANALYZE chat_user_hourly",
            "VACUUM ANALYZE users",
        ];
        // Messages in slices: the word triggers keep each statement's texts until it ends.
        const int Slice = 250_000;
        statements = [statements[0], statements[1], .. Enumerable.Range(0, (messages + Slice - 1) / Slice)
            .Select(i => MessageSlice(i * Slice + 1, Math.Min(messages, (i + 1) * Slice), messages, members)), .. statements[2..]];
        await using var connection = await dataSource.OpenConnectionAsync();
        foreach (var sql in statements)
        {
            await using var cmd = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await cmd.ExecuteNonQueryAsync();
        }
    }
}

/// <summary>
/// <c>chatstats import</c> of a generated export, as deployed (a child process), against a fresh database: messages per
/// second and peak memory, median of runs; the baseline is reading and mapping the same file with nothing written.
/// </summary>
internal static class ImportLoadRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var messages = IngestLoadRun.Option(args, "--messages", 1_000_000);
        var runs = IngestLoadRun.Option(args, "--runs", 3);
        if (Environment.GetEnvironmentVariable("CHATSTATS_BENCH_SERVER_URL") is { } server)
        {
            Environment.SetEnvironmentVariable(PostgresServer.UrlVariable, server);
        }
        // --export PATH keeps the generated export there (and reuses it on the next invocation with the same size).
        var keep = Array.IndexOf(args, "--export") is var at and >= 0 && at + 1 < args.Length ? Path.GetFullPath(args[at + 1]) : null;
        var dir = keep is null ? Directory.CreateTempSubdirectory("chatstats-import-bench") : null;
        try
        {
            var path = keep ?? Path.Combine(dir!.FullName, "result.json");
            var counted = path + $".{messages}.count";
            var contents = keep is not null && File.Exists(path) && File.Exists(counted)
                ? new ExportContents { Messages = long.Parse(File.ReadAllText(counted), CultureInfo.InvariantCulture) }
                : ExportBuilder.Write(path, messages, wholeAccount: true, users: 5_000);
            if (keep is not null)
            {
                File.WriteAllText(counted, contents.Messages.ToString(CultureInfo.InvariantCulture));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"export: {contents.Messages:N0} messages, {new FileInfo(path).Length / 1048576.0:N0} MB"));
            // --words-ab: each run imports twice, interleaved, the second time into a schema without the word rollup's
            // triggers: what the rollup costs the write path, measured in the same minutes.
            var wordsAb = args.Contains("--words-ab");
            var rates = new List<double>();
            var withoutWords = new List<double>();
            var baselines = new List<double>();
            var peaks = new List<double>();
            for (var run = 1; run <= runs; run++)
            {
                baselines.Add(Baseline(path));
                foreach (var words in wordsAb ? [true, false] : new[] { true })
                {
                    var cs = await PostgresServer.CreateDatabaseAsync("import");
                    if (!words)
                    {
                        await using var dataSource = NpgsqlDataSource.Create(cs);
                        await using var drop = dataSource.CreateCommand(ChatStats.Bot.Data.WordRollup.Drop);
                        await drop.ExecuteNonQueryAsync();
                    }
                    var started = Stopwatch.GetTimestamp();
                    var (exit, peak) = RunImport(path, cs);
                    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    if (exit != 0)
                    {
                        Console.WriteLine($"import exited with {exit}");
                        return 1;
                    }
                    (words ? rates : withoutWords).Add(contents.Messages / seconds);
                    if (words)
                    {
                        peaks.Add(peak);
                    }
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"run {run}{(words ? "" : ", without the word rollup")}: {contents.Messages / seconds:N0} messages/s (process start to exit), peak RSS {peak:N0} MB; baseline (read + map, nothing written) {baselines[^1]:N0}/s"));
                }
            }
            Console.WriteLine();
            Console.WriteLine("| measure | median | runs |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| import, messages/s | {IngestLoadRun.Median(rates):N0} | {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
            if (withoutWords.Count > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| import without the word rollup (same run, interleaved), messages/s | {IngestLoadRun.Median(withoutWords):N0} | {string.Join(", ", withoutWords.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| with / without, per run | {IngestLoadRun.Median([.. rates.Zip(withoutWords, (a, b) => a / b)]):P0} | {string.Join(", ", rates.Zip(withoutWords, (a, b) => (a / b).ToString("P0", CultureInfo.InvariantCulture)))} |"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| baseline (read + map), messages/s | {IngestLoadRun.Median(baselines):N0} | {string.Join(", ", baselines.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| import peak RSS, MB | {IngestLoadRun.Median(peaks):N0} | {string.Join(", ", peaks.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} |"));
            return 0;
        }
        finally
        {
            dir?.Delete(recursive: true);
        }
    }

    private static double Baseline(string path)
    {
        var started = Stopwatch.GetTimestamp();
        using var stream = File.OpenRead(path);
        var json = new ChatStats.Bot.Import.JsonTokenStream(stream);
        var batch = new ChatStats.Bot.Ingest.IngestBatch();
        long count = 0;
        while (json.Read())
        {
            if (json.Token == System.Text.Json.JsonTokenType.PropertyName && json.Text == "messages" && json.Read())
            {
                while (json.Read() && json.Token != System.Text.Json.JsonTokenType.EndArray)
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(json.ReadValueBytes());
                    count += ChatStats.Bot.Import.ExportMapper.Map(doc.RootElement, -1, "supergroup", "x", batch, true).Messages;
                    if (batch.Messages.Count > 5_000)
                    {
                        batch.Clear();
                    }
                }
            }
        }
        return count / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static (int Exit, double PeakMb) RunImport(string path, string connectionString)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "chatstats.dll"));
        start.ArgumentList.Add("import");
        start.ArgumentList.Add(path);
        start.Environment.Remove("DATABASE_URL");
        start.Environment["Database__ConnectionString"] = connectionString;
        using var process = Process.Start(start)!;
        double peak = 0;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"  {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        while (!process.WaitForExit(200))
        {
            try
            {
                var now = IngestLoadRun.PeakRssMb(process.Id);
                if (!double.IsNaN(now))
                {
                    peak = Math.Max(peak, now);
                }
            }
            catch (IOException)
            {
            }
        }
        return (process.ExitCode, peak);
    }
}
