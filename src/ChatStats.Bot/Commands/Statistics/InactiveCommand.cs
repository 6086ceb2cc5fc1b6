using System.Globalization;
using System.Text;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

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
                    ? context.T("InactiveLast", Formats.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(last, chat?.Zone ?? TimeZoneInfo.Utc).DateTime), context.Culture))
                    : context.T("InactiveNever"))
                .Append('\n');
        }
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}
