using System.Globalization;
using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Commands;

/// <summary>/stats [period]: totals, media share, busiest day and hour, change against the period before.</summary>
internal sealed class StatsCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "stats";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandStats";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_stats", ct) is not { } request)
        {
            return;
        }
        if (request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], "Usage_stats", ct);
            return;
        }
        var overview = await stats.Queries.OverviewAsync(context.ChatId, request.Period, ct);
        if (overview.Messages == 0 && !await stats.Queries.HasAnyAsync(context.ChatId, ct))
        {
            await stats.Replies.SendAsync(context, context.T("StatsEmpty"), ct);
            return;
        }
        var top = await stats.Queries.TopAsync(context.ChatId, request.Period, 5, TopMetric.Messages, ct);
        await stats.Replies.SendAsync(context, Render(request, overview, top, context), ct);
    }

    internal static string Render(StatsRequest request, Overview o, Leaderboard top, CommandContext context)
    {
        var c = context.Culture;
        var period = StatsSupport.Describe(request.Period, c);
        if (o.Messages == 0)
        {
            return context.T("StatsEmptyPeriod", period);
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Name(request.Chat.Title ?? context.T("ThisChat"))).Append("</b> · ").Append(Html.Escape(period)).Append('\n');
        text.Append(context.T("StatsMessages", o.Messages.ToString("N0", c))).Append('\n');
        text.Append(context.T("StatsMembers", o.Members.ToString("N0", c))).Append('\n');
        text.Append(context.T("StatsWords", o.Words.ToString("N0", c))).Append('\n');
        text.Append(context.T("StatsMedia", o.Media.ToString("N0", c), ((double)o.Media / o.Messages).ToString("P0", c))).Append('\n');
        if (o.BusiestDay is { } day)
        {
            text.Append(context.T("StatsBusiestDay", StatsSupport.Day(day, c), o.BusiestDayMessages.ToString("N0", c))).Append('\n');
        }
        if (o.BusiestHour is { } hour)
        {
            text.Append(context.T("StatsBusiestHour", hour, (hour + 1) % 24, o.BusiestHourMessages.ToString("N0", c))).Append('\n');
        }
        if (o.PreviousMessages is { } before && request.Period.From is not null)
        {
            var span = request.Period.Days == 1 ? "24 h" : $"{request.Period.Days} d";
            text.Append(before == 0
                ? context.T("StatsChangeNew", span)
                : context.T("StatsChange", span, Change(o.Messages, before, c))).Append('\n');
        }
        if (top.Leaders.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("StatsTop", top.Leaders.Count)).Append("</b>\n");
            TopCommand.AppendRows(text, top, c);
        }
        return text.ToString().TrimEnd();
    }

    internal static string Change(long now, long before, CultureInfo c)
    {
        var ratio = (now - before) / (double)before;
        return $"{(ratio >= 0 ? "+" : "−")}{Math.Abs(ratio).ToString("P0", c)} ({before.ToString("N0", c)} → {now.ToString("N0", c)})";
    }
}

/// <summary>/top [n] [period] [by messages|words|chars|media]: a leaderboard with shares and a bar per row.</summary>
internal sealed class TopCommand(StatsSupport stats) : IBotCommand
{
    public const int MaxRows = 50;
    public string Name => "top";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandTop";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_top", ct) is not { } request)
        {
            return;
        }
        var count = 10;
        var metric = TopMetric.Messages;
        for (var i = 0; i < request.Rest.Count; i++)
        {
            var word = request.Rest[i];
            if (int.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxRows)
            {
                count = n;
            }
            else if (word.Equals("by", StringComparison.OrdinalIgnoreCase) && i + 1 < request.Rest.Count && TryMetric(request.Rest[i + 1], out metric))
            {
                i++;
            }
            else if (TryMetric(word, out var bare))
            {
                metric = bare;
            }
            else
            {
                await stats.BadArgumentAsync(context, word, "Usage_top", ct);
                return;
            }
        }
        var board = await stats.Queries.TopAsync(context.ChatId, request.Period, count, metric, ct);
        var period = StatsSupport.Describe(request.Period, context.Culture);
        if (board.Leaders.Count == 0)
        {
            await stats.Replies.SendAsync(context, context.T("TopEmpty", period), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("TopTitle", board.Leaders.Count, context.T($"Metric{metric}"), Html.Escape(period))).Append("</b>\n");
        AppendRows(text, board, context.Culture);
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }

    internal static bool TryMetric(string word, out TopMetric metric)
    {
        switch (word.ToLowerInvariant())
        {
            case "messages" or "msgs":
                metric = TopMetric.Messages;
                return true;
            case "words":
                metric = TopMetric.Words;
                return true;
            case "chars" or "characters":
                metric = TopMetric.Chars;
                return true;
            case "media":
                metric = TopMetric.Media;
                return true;
            default:
                metric = TopMetric.Messages;
                return false;
        }
    }

    internal static void AppendRows(StringBuilder text, Leaderboard board, CultureInfo c)
    {
        var max = board.Leaders.Max(l => l.Value);
        var rank = 1;
        foreach (var leader in board.Leaders)
        {
            var share = board.Total == 0 ? 0 : (double)leader.Value / board.Total;
            text.Append(rank++).Append(". ").Append(Html.Name(leader.Name))
                .Append(" — ").Append(leader.Value.ToString("N0", c))
                .Append(" (").Append(share.ToString("P0", c)).Append(")\n")
                .Append("<code>").Append(TextChart.BarOf(leader.Value, max, 16)).Append("</code>\n");
        }
    }
}

/// <summary>/me [period] and /user @name [period] (or as a reply): one member's numbers.</summary>
internal sealed class MeCommand(StatsSupport stats) : MemberCommand(stats, self: true);

internal sealed class UserCommand(StatsSupport stats) : MemberCommand(stats, self: false);

internal abstract class MemberCommand(StatsSupport stats, bool self) : IBotCommand
{
    public string Name => self ? "me" : "user";
    public string DescriptionKey => self ? "CommandMe" : "CommandUser";
    public bool IsHeavy => true;
    private string Usage => self ? "Usage_me" : "Usage_user";

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, Usage, ct) is not { } request)
        {
            return;
        }
        long? userId = null;
        string? asked = null;
        foreach (var word in request.Rest)
        {
            if (!self && word.StartsWith('@') && word.Length > 1 && asked is null)
            {
                asked = word;
                userId = await stats.Queries.FindUserAsync(context.ChatId, word, ct);
            }
            else
            {
                await stats.BadArgumentAsync(context, word, Usage, ct);
                return;
            }
        }
        var message = context.Message;
        // In a forum topic every message "replies" to the topic's first message; only a real reply names someone.
        var reply = message.ReplyToMessage is { } r && !(message.IsTopicMessage == true && r.MessageId == message.MessageThreadId) ? r : null;
        if (self)
        {
            userId = message.From?.Id;
        }
        else if (asked is null && reply?.From is { IsBot: false } target)
        {
            userId = target.Id;
            asked = target.FirstName;
        }
        else if (asked is null)
        {
            await stats.Replies.SendAsync(context, context.T("Usage_user"), ct);
            return;
        }
        var period = StatsSupport.Describe(request.Period, context.Culture);
        var member = userId is { } id ? await stats.Queries.MemberAsync(context.ChatId, id, request.Period, ct) : null;
        if (member is null)
        {
            await stats.Replies.SendAsync(context, context.T("UserNotFound", Html.Name(asked ?? context.Message.From?.FirstName, 64)), ct);
            return;
        }
        await stats.Replies.SendAsync(context, Render(member, request, period, context), ct);
    }

    internal static string Render(MemberStats m, StatsRequest request, string period, CommandContext context)
    {
        var c = context.Culture;
        if (m.Messages == 0)
        {
            return context.T("MeNone", Html.Name(m.Name), Html.Escape(period));
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Name(m.Name)).Append("</b> · ").Append(Html.Escape(period)).Append('\n');
        text.Append(m.Rank > 0 && m.Ranked > 0
            ? context.T("MeMessages", m.Messages.ToString("N0", c), m.Rank, m.Ranked)
            : context.T("MeMessagesUnranked", m.Messages.ToString("N0", c))).Append('\n');
        text.Append(context.T("MeWordsPer", ((double)m.Words / m.Messages).ToString("N1", c))).Append('\n');
        if (m.TopHours.Count > 0)
        {
            text.Append(context.T("MeHours", string.Join(", ", m.TopHours.Select(h => $"{h:00}:00")))).Append('\n');
        }
        if (m.LongestStreak > 0 && m.StreakEnd is { } end)
        {
            text.Append(context.T("MeStreak", m.LongestStreak, StatsSupport.Day(end, c))).Append('\n');
        }
        if (m.FirstSeen is { } first && m.LastSeen is { } last)
        {
            text.Append(context.T("MeSeen", StatsSupport.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(first, request.Chat.Zone).DateTime), c),
                StatsSupport.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(last.AddTicks(-1), request.Chat.Zone).DateTime), c)));
        }
        return text.ToString().TrimEnd();
    }
}

/// <summary>/activity [period]: the hour × weekday heatmap.</summary>
internal sealed class ActivityCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "activity";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandActivity";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_activity", ct) is not { } request)
        {
            return;
        }
        if (request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], "Usage_activity", ct);
            return;
        }
        var grid = await stats.Queries.HeatmapAsync(context.ChatId, request.Period, ct);
        var period = StatsSupport.Describe(request.Period, context.Culture);
        if (grid.Cast<long>().All(v => v == 0))
        {
            await stats.Replies.SendAsync(context, context.T("StatsEmptyPeriod", period), ct);
            return;
        }
        var days = StatsSupport.Weekdays(context);
        var svg = SvgChart.Heatmap(context.T("ActivityTitle", period), grid, days, context.T("LegendMax"), context.Culture);
        await stats.SendChartAsync(context, svg, Html.Escape(context.T("ActivityCaption", period, request.Chat.Zone.Id)), () => TextChart.Heatmap(grid, days), ct);
    }
}

/// <summary>/history [period]: messages per day as a line, with a 7-day moving average and the week-on-week trend.</summary>
internal sealed class HistoryCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "history";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandHistory";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_history", ct) is not { } request)
        {
            return;
        }
        if (request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], "Usage_history", ct);
            return;
        }
        var days = await stats.Queries.HistoryAsync(context.ChatId, request.Period, ct);
        var period = StatsSupport.Describe(request.Period, context.Culture);
        if (days.Sum(d => d.Messages) == 0)
        {
            await stats.Replies.SendAsync(context, context.T("StatsEmptyPeriod", period), ct);
            return;
        }
        var c = context.Culture;
        var points = days.Select(d => new Point(d.Day.ToString("d MMM", c), d.Messages)).ToList();
        var svg = SvgChart.LineChart(context.T("HistoryTitle", period), points, 7, c);
        await stats.SendChartAsync(context, svg, Caption(days, period, context), () => TextChart.Sparkline([.. days.Select(d => (double)d.Messages)]), ct);
    }

    internal static string Caption(IReadOnlyList<DayCount> days, string period, CommandContext context)
    {
        var c = context.Culture;
        var total = days.Sum(d => d.Messages);
        var busiest = days.MaxBy(d => d.Messages)!;
        var trend = "";
        if (days.Count >= 14)
        {
            var last = days.TakeLast(7).Average(d => d.Messages);
            var before = days.SkipLast(7).TakeLast(7).Average(d => d.Messages);
            var change = before == 0 ? 1 : (last - before) / before;
            var key = change switch
            {
                > 0.1 => "TrendUp",
                < -0.1 => "TrendDown",
                _ => "TrendFlat",
            };
            trend = context.T(key, StatsSupport.Number(last, c), StatsSupport.Number(before, c));
        }
        return Html.Escape(context.T("HistoryCaption", period, total.ToString("N0", c), StatsSupport.Number((double)total / days.Count, c),
            StatsSupport.Day(busiest.Day, c), busiest.Messages.ToString("N0", c), trend).TrimEnd());
    }
}

/// <summary>/words [period] [@user]: the most used words, without stemming, stop words, links, mentions or commands.</summary>
internal sealed class WordsCommand(StatsSupport stats, WordQueries words) : IBotCommand
{
    public const int Count = 20;
    public string Name => "words";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandWords";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_words", ct) is not { } request)
        {
            return;
        }
        long? userId = null;
        string? userName = null;
        foreach (var word in request.Rest)
        {
            if (word.StartsWith('@') && word.Length > 1 && userId is null)
            {
                userId = await stats.Queries.FindUserAsync(context.ChatId, word, ct);
                if (userId is null)
                {
                    await stats.Replies.SendAsync(context, context.T("UserNotFound", Html.Quote(word)), ct);
                    return;
                }
                userName = word;
            }
            else
            {
                await stats.BadArgumentAsync(context, word, "Usage_words", ct);
                return;
            }
        }
        var counted = await words.TopAsync(context.ChatId, request.Period, userId, Count, ct);
        var period = StatsSupport.Describe(request.Period, context.Culture);
        var top = counted.Words;
        if (top.Count == 0)
        {
            await stats.Replies.SendAsync(context, context.T("WordsEmpty", Html.Escape(period)), ct);
            return;
        }
        var c = context.Culture;
        var reply = new StringBuilder();
        reply.Append("<b>").Append((userName is null ? context.T("WordsTitle", Html.Escape(period)) : context.T("WordsOf", Html.Name(userName), Html.Escape(period)))).Append("</b>\n");
        var max = top[0].Count;
        for (var i = 0; i < top.Count; i++)
        {
            reply.Append(i + 1).Append(". ").Append(Html.Name(top[i].Word)).Append(" — ").Append(top[i].Count.ToString("N0", c))
                .Append(" <code>").Append(TextChart.BarOf(top[i].Count, max, 10)).Append("</code>\n");
        }
        reply.Append('\n').Append(context.T("WordsFooter", counted.Texts.ToString("N0", c), counted.Uses.ToString("N0", c)));
        await stats.Replies.SendAsync(context, reply.ToString(), ct);
    }
}

/// <summary>/types [period]: how the messages divide by kind.</summary>
internal sealed class TypesCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "types";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandTypes";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_types", ct) is not { } request)
        {
            return;
        }
        if (request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], "Usage_types", ct);
            return;
        }
        var kinds = await stats.Queries.KindsAsync(context.ChatId, request.Period, ct);
        var total = kinds.Values.Sum();
        var period = StatsSupport.Describe(request.Period, context.Culture);
        if (total == 0)
        {
            await stats.Replies.SendAsync(context, context.T("StatsEmptyPeriod", period), ct);
            return;
        }
        var c = context.Culture;
        var rows = kinds.Where(k => k.Value > 0).OrderByDescending(k => k.Value).ToList();
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Escape(context.T("TypesTitle", period))).Append("</b>\n");
        foreach (var (kind, count) in rows)
        {
            text.Append(Html.Escape(context.T($"Kind_{kind}"))).Append(" — ").Append(count.ToString("N0", c))
                .Append(" (").Append(((double)count / total).ToString("P1", c)).Append(")\n<code>")
                .Append(TextChart.BarOf(count, rows[0].Value, 16)).Append("</code>\n");
        }
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}

/// <summary>/replies [period]: the pairs of members who reply to each other most.</summary>
internal sealed class RepliesCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "replies";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandReplies";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_replies", ct) is not { } request)
        {
            return;
        }
        if (request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], "Usage_replies", ct);
            return;
        }
        var pairs = await stats.Queries.RepliesAsync(context.ChatId, request.Period, 10, ct);
        var period = StatsSupport.Describe(request.Period, context.Culture);
        if (pairs.Count == 0)
        {
            await stats.Replies.SendAsync(context, context.T("RepliesEmpty", Html.Escape(period)), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Escape(context.T("RepliesTitle", period))).Append("</b>\n");
        var rank = 1;
        foreach (var pair in pairs)
        {
            text.Append(rank++).Append(". ").Append(Html.Name(pair.From)).Append(" → ").Append(Html.Name(pair.To))
                .Append(" — ").Append(pair.Count.ToString("N0", context.Culture)).Append('\n');
        }
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}

/// <summary>/inactive [days]: members not seen for that long (default 30), from joins, leaves and last messages.</summary>
internal sealed class InactiveCommand(StatsSupport stats) : IBotCommand
{
    public const int MaxRows = 50;
    public string Name => "inactive";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandInactive";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (!context.IsGroup)
        {
            await stats.Replies.SendAsync(context, context.T("GroupOnly"), ct);
            return;
        }
        var words = context.Command.Arguments.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var days = 30;
        if (words.Length > 1 || (words.Length == 1 && !(int.TryParse(words[0].TrimEnd('d'), NumberStyles.None, CultureInfo.InvariantCulture, out days) && days is >= 1 and <= 3650)))
        {
            await stats.Replies.SendAsync(context, $"{context.T("BadArgument", $"«{Html.Quote(string.Join(' ', words))}»")} {context.T("Usage_inactive")}", ct);
            return;
        }
        var chat = context.Chat ?? await stats.Queries.ChatAsync(context.ChatId, ct);
        var members = await stats.Queries.InactiveAsync(context.ChatId, days, stats.Now, MaxRows, ct);
        if (members.Count == 0)
        {
            await stats.Replies.SendAsync(context, context.T("InactiveEmpty", days), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("InactiveTitle", days)).Append("</b>\n");
        foreach (var member in members)
        {
            text.Append("• ").Append(Html.Name(member.Name)).Append(" — ")
                .Append(member.LastSeen is { } last
                    ? context.T("InactiveLast", StatsSupport.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(last, chat?.Zone ?? TimeZoneInfo.Utc).DateTime), context.Culture))
                    : context.T("InactiveNever"))
                .Append('\n');
        }
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}

/// <summary>/titles: the chat's names over time, newest first.</summary>
internal sealed class TitlesCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "titles";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandTitles";

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (!context.IsGroup)
        {
            await stats.Replies.SendAsync(context, context.T("GroupOnly"), ct);
            return;
        }
        var chat = context.Chat ?? await stats.Queries.ChatAsync(context.ChatId, ct);
        var titles = await stats.Queries.TitlesAsync(context.ChatId, 30, ct);
        if (titles.Count == 0)
        {
            await stats.Replies.SendAsync(context, context.T("TitlesEmpty"), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("TitlesTitle")).Append("</b>\n");
        foreach (var title in titles)
        {
            text.Append(StatsSupport.Local(title.At, chat?.Zone ?? TimeZoneInfo.Utc, context.Culture)).Append(" — <b>").Append(Html.Name(title.Title)).Append("</b>");
            if (title.By is not null)
            {
                text.Append(' ').Append(context.T("TitleBy", Html.Name(title.By)));
            }
            text.Append('\n');
        }
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}
