using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Data;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Cli;

/// <summary>
/// <c>chatstats stats --chat ID [--period P]</c> and <c>chatstats chart KIND --chat ID [--period P] --out FILE</c>: the
/// numbers and charts the chat commands show, offline, from the same queries.
/// </summary>
internal static class StatsCliCommand
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    private static Option<long> ChatOption() => new("--chat") { Description = "The chat id (negative for groups), as Telegram gives it.", Required = true };

    private static Option<string> PeriodOption() => new("--period") { Description = $"{Period.Forms} (default all), in the chat's time zone.", DefaultValueFactory = _ => "all" };

    public static Command Build()
    {
        var chat = ChatOption();
        var period = PeriodOption();
        var format = new Option<string>("--format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var top = new Option<int>("--top") { Description = "How many leaders to list (1–100).", DefaultValueFactory = _ => 10 };
        var command = new Command("stats", "Print a chat's statistics for a period: totals, busiest day and hour, kinds, leaders.") { chat, period, format, top };
        command.SetAction(async (parse, ct) => await ChatStatsCli.RunGuardedAsync(async () =>
        {
            using var host = AppHost.BuildTool([]);
            var queries = host.Services.GetRequiredService<StatsQueries>();
            if (await ResolveAsync(queries, parse.GetValue(chat), parse.GetValue(period)!, ct) is not { } request)
            {
                return 1;
            }
            var (info, p) = request;
            var overview = await queries.OverviewAsync(info.Id, p, ct);
            var leaders = await queries.TopAsync(info.Id, p, Math.Clamp(parse.GetValue(top), 1, 100), TopMetric.Messages, ct);
            var kinds = await queries.KindsAsync(info.Id, p, ct);
            var report = new StatsJson(info.Id, info.Title, p.Label, p.From, p.To, info.Zone.Id, overview.Messages, overview.Members, overview.Words, overview.Chars,
                overview.Media, overview.BusiestDay, overview.BusiestHour, overview.PreviousMessages,
                kinds.Where(k => k.Value > 0).ToDictionary(k => Snake(k.Key), k => k.Value),
                [.. leaders.Leaders.Select(l => new LeaderJson(l.UserId, l.Name, l.Username, l.Value))]);
            Console.WriteLine(parse.GetValue(format) == "json" ? JsonSerializer.Serialize(report, CliJsonContext.Default.StatsJson) : ToText(report));
            return 0;
        }));
        return command;
    }

    public static Command BuildChart()
    {
        var kind = new Argument<string>("kind") { Description = "activity (hour × weekday heatmap), history (messages per day) or types (kinds of messages)." };
        kind.AcceptOnlyFromAmong("activity", "history", "types");
        var chat = ChatOption();
        var period = PeriodOption();
        var output = new Option<string>("--out") { Description = "Where to write the chart: FILE.svg, or FILE.png (drawn in process, as the bot sends it).", Required = true };
        var command = new Command("chart", "Draw a chat's chart to an SVG or PNG file, the same chart the bot sends.") { kind, chat, period, output };
        command.SetAction(async (parse, ct) => await ChatStatsCli.RunGuardedAsync(async () =>
        {
            var path = parse.GetValue(output)!;
            if (await ChatStatsCli.OutputFormatAsync(path, ".svg", ".png") is not { } format)
            {
                return 2;
            }
            var png = format == ".png";
            using var host = AppHost.BuildTool([]);
            var queries = host.Services.GetRequiredService<StatsQueries>();
            if (await ResolveAsync(queries, parse.GetValue(chat), parse.GetValue(period)!, ct) is not { } request)
            {
                return 1;
            }
            var (info, p) = request;
            var culture = CultureInfo.GetCultureInfo(info.Language ?? "en");
            var label = Formats.Describe(p, culture);
            string svg;
            switch (parse.GetValue(kind))
            {
                case "activity":
                    var grid = await queries.HeatmapAsync(info.Id, p, ct);
                    svg = SvgChart.Heatmap(Localizer.Format("ActivityTitle", culture, label), grid, Localizer.Get("Weekdays", culture).Split(','), Localizer.Get("LegendMax", culture), culture);
                    break;
                case "history":
                    var days = await queries.HistoryAsync(info.Id, p, ct);
                    svg = SvgChart.LineChart(Localizer.Format("HistoryTitle", culture, label), [.. days.Select(d => new Point(d.Day.ToString("d MMM", culture), d.Messages))], 7, culture);
                    break;
                default:
                    var kinds = await queries.KindsAsync(info.Id, p, ct);
                    svg = SvgChart.BarChart(Localizer.Format("TypesTitle", culture, label),
                        [.. kinds.Where(k => k.Value > 0).OrderByDescending(k => k.Value).Select(k => new Bar(Localizer.Get($"Kind_{k.Key}", culture), k.Value))], culture);
                    break;
            }
            if (png)
            {
                var renderer = host.Services.GetRequiredService<ChartRenderer>();
                if (await renderer.ToPngAsync(svg, ct) is not { } bytes)
                {
                    await Console.Error.WriteLineAsync(ChartRenderer.NativeProblem is { } problem
                        ? $"chatstats: PNG needs SkiaSharp's native library, which could not load here ({problem}); write FILE.svg instead."
                        : "chatstats: PNG is off (Charts:Png=off) or the chart could not be drawn; write FILE.svg instead.");
                    return 1;
                }
                await File.WriteAllBytesAsync(path, bytes, ct);
            }
            else
            {
                await File.WriteAllTextAsync(path, svg, ct);
            }
            Console.WriteLine($"wrote {path}");
            return 0;
        }));
        return command;
    }

    private static async Task<(ChatInfo Chat, Period Period)?> ResolveAsync(StatsQueries queries, long chatId, string periodText, CancellationToken ct)
    {
        var chat = await queries.ChatAsync(chatId, ct);
        if (chat is null)
        {
            await ChatStatsCli.NoSuchChatAsync(chatId);
            return null;
        }
        if (Period.TryParse(periodText, chat.Zone, DateTimeOffset.UtcNow, out var error) is not { } period)
        {
            await Console.Error.WriteLineAsync($"chatstats: {error}. Periods: {Period.Forms}.");
            return null;
        }
        return (chat, period);
    }

    internal static string ToText(StatsJson t)
    {
        var lines = new List<string>
        {
            $"chat      {t.ChatId} {Terminal.Safe(t.Title)}",
            $"period    {t.Period} ({(t.From is { } f ? f.ToString("u", C) : "start")} – {t.To.ToString("u", C)}, {t.TimeZone})",
            $"messages  {t.Messages.ToString("N0", C)}{(t.PreviousMessages is { } p ? $" (previous period {p.ToString("N0", C)})" : "")}",
            $"members   {t.Members.ToString("N0", C)}",
            $"words     {t.Words.ToString("N0", C)}",
            $"chars     {t.Chars.ToString("N0", C)}",
            $"media     {t.Media.ToString("N0", C)}",
        };
        if (t.BusiestDay is { } day)
        {
            lines.Add($"busiest   {day.ToString("yyyy-MM-dd", C)}, hour {t.BusiestHour:00}:00");
        }
        lines.Add("by kind");
        lines.AddRange(t.ByKind.OrderByDescending(k => k.Value).Select(k => $"  {k.Key,-12} {k.Value.ToString("N0", C)}"));
        lines.Add("top");
        lines.AddRange(t.Top.Select((m, i) => $"  {i + 1,2}. {Terminal.Safe(m.Name)} ({m.UserId}) {m.Messages.ToString("N0", C)}"));
        return string.Join('\n', lines);
    }

    private static string Snake(MessageKind kind) => Data.ChatStatsDbContext.SnakeCase(kind.ToString());
}

internal sealed record LeaderJson(long UserId, string Name, string? Username, long Messages);

internal sealed record StatsJson(
    long ChatId, string? Title, string Period, DateTimeOffset? From, DateTimeOffset To, string TimeZone,
    long Messages, long Members, long Words, long Chars, long Media, DateOnly? BusiestDay, int? BusiestHour, long? PreviousMessages,
    Dictionary<string, long> ByKind, List<LeaderJson> Top);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(StatsJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
