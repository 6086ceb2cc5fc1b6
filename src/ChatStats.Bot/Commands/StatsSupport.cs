using System.Globalization;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Telegram.Sending;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

/// <summary>A statistics command's arguments once read: the chat, the period (and how it reads: <see cref="Formats.Describe"/>) and the words left for the command itself.</summary>
internal sealed record StatsRequest(ChatInfo Chat, Period Period, IReadOnlyList<string> Rest, string Label);

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
        return new StatsRequest(chat, period, rest, Formats.Describe(period, context.Culture));
    }

    /// <summary>Answers a word the command cannot use: what it was, how the command is used, and the periods.</summary>
    public Task BadArgumentAsync(CommandContext context, string word, string usageKey, CancellationToken ct) =>
        replies.SendAsync(context, $"{context.T("BadArgument", $"«{Html.Quote(word)}»")} {context.T(usageKey)}\n{context.T("PeriodForms")}", ct);

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
}
