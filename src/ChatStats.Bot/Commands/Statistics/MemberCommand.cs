using System.Text;
using ChatStats.Bot.Stats;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/me [period] and /user @name [period] (or as a reply): one member's numbers.</summary>
internal sealed class MeCommand(StatsSupport stats) : MemberCommand(stats, self: true);

internal sealed class UserCommand(StatsSupport stats) : MemberCommand(stats, self: false);

internal abstract class MemberCommand(StatsSupport stats, bool self) : PeriodCommand(stats, self ? "me" : "user", self ? "CommandMe" : "CommandUser")
{

    /// <summary>One member's numbers: the same question from two people is two questions.</summary>
    public override bool ChatWide => false;

    protected override bool TakesArguments => true;

    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        long? userId = null;
        string? asked = null;
        foreach (var word in request.Rest)
        {
            if (!self && word.StartsWith('@') && word.Length > 1 && asked is null)
            {
                asked = word;
                userId = await Stats.Queries.FindUserAsync(context.ChatId, word, ct);
            }
            else
            {
                await Stats.BadArgumentAsync(context, word, Usage, ct);
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
            await Stats.Replies.SendAsync(context, context.T("Usage_user"), ct);
            return;
        }
        var member = userId is { } id ? await Stats.Queries.MemberAsync(context.ChatId, id, request.Period, ct) : null;
        if (member is null)
        {
            await Stats.Replies.SendAsync(context, context.T("UserNotFound", Html.Name(asked ?? context.Message.From?.FirstName, 64)), ct);
            return;
        }
        await Stats.Replies.SendAsync(context, Render(member, request, context), ct);
    }

    internal static string Render(MemberStats m, StatsRequest request, CommandContext context)
    {
        var c = context.Culture;
        if (m.Messages == 0)
        {
            return context.T("MeNone", Html.Name(m.Name), Html.Escape(request.Label));
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Name(m.Name)).Append("</b> · ").Append(Html.Escape(request.Label)).Append('\n');
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
            text.Append(context.T("MeStreak", m.LongestStreak, Formats.Day(end, c))).Append('\n');
        }
        if (m.FirstSeen is { } first && m.LastSeen is { } last)
        {
            text.Append(context.T("MeSeen", Formats.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(first, request.Chat.Zone).DateTime), c),
                Formats.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(last.AddTicks(-1), request.Chat.Zone).DateTime), c)));
        }
        return text.ToString().TrimEnd();
    }
}
