using System.Globalization;
using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/top [n] [period] [by messages|words|chars|media]: a leaderboard with shares and a bar per row.</summary>
internal sealed class TopCommand(StatsSupport stats) : PeriodCommand(stats, "top", "CommandTop")
{
    public const int MaxRows = 50;
    protected override bool TakesArguments => true;

    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
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
                await Stats.BadArgumentAsync(context, word, Usage, ct);
                return;
            }
        }
        var board = await Stats.Queries.TopAsync(context.ChatId, request.Period, count, metric, ct);
        if (board.Leaders.Count == 0)
        {
            await Stats.Replies.SendAsync(context, context.T("TopEmpty", request.Label), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("TopTitle", board.Leaders.Count, context.T($"Metric{metric}"), Html.Escape(request.Label))).Append("</b>\n");
        AppendRows(text, board, context.Culture);
        await Stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }

    /// <summary>The words a leaderboard may be ranked by, with their short forms.</summary>
    private static readonly Dictionary<string, TopMetric> Metrics = new(StringComparer.OrdinalIgnoreCase)
    {
        ["messages"] = TopMetric.Messages, ["msgs"] = TopMetric.Messages,
        ["words"] = TopMetric.Words,
        ["chars"] = TopMetric.Chars, ["characters"] = TopMetric.Chars,
        ["media"] = TopMetric.Media,
    };

    internal static bool TryMetric(string word, out TopMetric metric) => Metrics.TryGetValue(word, out metric);

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
