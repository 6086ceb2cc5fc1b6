using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/words [period] [@user]: the most used words, without stemming, stop words, links, mentions or commands.</summary>
internal sealed class WordsCommand(StatsSupport stats, WordQueries words) : PeriodCommand(stats, "words", "CommandWords")
{
    public const int Count = 20;
    protected override bool TakesArguments => true;

    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        long? userId = null;
        string? userName = null;
        foreach (var word in request.Rest)
        {
            if (word.StartsWith('@') && word.Length > 1 && userId is null)
            {
                userId = await Stats.Queries.FindUserAsync(context.ChatId, word, ct);
                if (userId is null)
                {
                    await Stats.Replies.SendAsync(context, context.T("UserNotFound", Html.Quote(word)), ct);
                    return;
                }
                userName = word;
            }
            else
            {
                await Stats.BadArgumentAsync(context, word, Usage, ct);
                return;
            }
        }
        var counted = await words.TopAsync(context.ChatId, request.Period, userId, Count, ct);
        var top = counted.Words;
        if (top.Count == 0)
        {
            await Stats.Replies.SendAsync(context, context.T("WordsEmpty", Html.Escape(request.Label)), ct);
            return;
        }
        var c = context.Culture;
        var reply = new StringBuilder();
        reply.Append("<b>").Append((userName is null ? context.T("WordsTitle", Html.Escape(request.Label)) : context.T("WordsOf", Html.Name(userName), Html.Escape(request.Label)))).Append("</b>\n");
        var max = top[0].Count;
        for (var i = 0; i < top.Count; i++)
        {
            reply.Append(i + 1).Append(". ").Append(Html.Name(top[i].Word)).Append(" — ").Append(top[i].Count.ToString("N0", c))
                .Append(" <code>").Append(TextChart.BarOf(top[i].Count, max, 10)).Append("</code>\n");
        }
        reply.Append('\n').Append(context.T("WordsFooter", counted.Texts.ToString("N0", c), counted.Uses.ToString("N0", c)));
        await Stats.Replies.SendAsync(context, reply.ToString(), ct);
    }
}
