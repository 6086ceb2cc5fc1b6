using System.Globalization;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Telegram.Sending;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Commands;

/// <summary>A statistics command's arguments once read: the chat, the period and the words left for the command itself.</summary>
internal sealed record StatsRequest(ChatInfo Chat, Period Period, IReadOnlyList<string> Rest);

/// <summary>
/// What every statistics command shares: group-only, the period argument in the chat's time zone, replies that say what
/// was wrong and what is accepted, period labels, and charts sent as PNG with a text fallback.
/// </summary>
internal sealed class StatsSupport(StatsQueries queries, Replies replies, MessageSender sender, ChartRenderer charts, TimeProvider time)
{
    public StatsQueries Queries => queries;
    public Replies Replies => replies;
    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Reads the arguments; null when the command has already been answered (not a group, a bad period).</summary>
    public async Task<StatsRequest?> PrepareAsync(CommandContext context, string usageKey, CancellationToken ct)
    {
        if (!context.IsGroup)
        {
            await replies.SendAsync(context, context.T("GroupOnly"), ct);
            return null;
        }
        var chat = context.Chat ?? await queries.ChatAsync(context.ChatId, ct);
        if (chat is null)
        {
            await replies.SendAsync(context, context.T("StatsEmpty"), ct);
            return null;
        }
        Period? period = null;
        var rest = new List<string>();
        foreach (var word in context.Command.Arguments.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (period is null && Period.LooksLikePeriod(word))
            {
                period = Period.TryParse(word, chat.Zone, Now, out var error);
                if (period is null)
                {
                    await replies.SendAsync(context, $"{Html.Escape(error!)}. {context.T(usageKey)}\n{context.T("PeriodForms")}", ct);
                    return null;
                }
            }
            else
            {
                rest.Add(word);
            }
        }
        period ??= Period.TryParse(Period.Default, chat.Zone, Now, out _)!;
        return new StatsRequest(chat, period, rest);
    }

    /// <summary>Answers a word the command cannot use: what it was, how the command is used, and the periods.</summary>
    public Task BadArgumentAsync(CommandContext context, string word, string usageKey, CancellationToken ct) =>
        replies.SendAsync(context, $"{context.T("BadArgument", $"«{Html.Quote(word)}»")} {context.T(usageKey)}\n{context.T("PeriodForms")}", ct);

    /// <summary>"1 Mar 2026 – 30 Mar 2026", "14 Mar 2026" or "all time", in the reader's language.</summary>
    public static string Describe(Period period, CultureInfo culture)
    {
        if (period.From is not { } from)
        {
            return Localizer.Get("PeriodAll", culture);
        }
        var first = TimeZoneInfo.ConvertTime(from, period.Zone);
        var last = TimeZoneInfo.ConvertTime(period.To.AddTicks(-1), period.Zone);
        var format = culture.TwoLetterISOLanguageName == "ru" ? "d MMM yyyy" : "d MMM yyyy";
        return first.Date == last.Date
            ? first.ToString(format, culture)
            : $"{first.ToString(format, culture)} – {last.ToString(format, culture)}";
    }

    public static string Day(DateOnly day, CultureInfo culture) => day.ToString("d MMM yyyy", culture);

    public static string Local(DateTimeOffset instant, TimeZoneInfo zone, CultureInfo culture) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("d MMM yyyy HH:mm", culture);

    public static IReadOnlyList<string> Weekdays(CommandContext context) => context.T("Weekdays").Split(',');

    /// <summary>Sends the chart as a photo with its caption, or the text version when no PNG can be made.</summary>
    public async Task SendChartAsync(CommandContext context, string svg, string caption, Func<string> textChart, CancellationToken ct)
    {
        var png = await charts.ToPngAsync(svg, ct);
        var message = context.Message;
        if (png is not null)
        {
            await sender.SendPhotoAsync(message.Chat.Id, InputFile.FromStream(new MemoryStream(png, writable: false), "chart.png"), context.Answer(caption), message.TopicId(), ct,
                replyToMessageId: message.MessageId);
            return;
        }
        await replies.SendAsync(message, context.Answer($"{caption}\n<pre>{Html.Escape(textChart())}</pre>"), ct);
    }

    public static string Number(double value, CultureInfo culture) => value.ToString(value >= 100 || value == Math.Floor(value) ? "N0" : "N1", culture);
}
