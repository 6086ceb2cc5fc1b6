using ChatStats.Bot.Reports;
using ChatStats.Bot.Throttling;
using ChatStats.Jobs;

namespace ChatStats.Bot.Commands;

/// <summary>
/// /report [period]: enqueues the chat's PDF report (one per chat and period at a time; one report per chat runs at
/// once) and answers at once with its place in the queue. Costs a unit of the chat's daily quota, given back when a
/// report for the same period was already on its way.
/// </summary>
internal sealed class ReportCommand(StatsSupport stats, JobClient jobs, DailyQuota quota) : IBotCommand
{
    public string Name => "report";
    public string DescriptionKey => "CommandReport";
    public bool IsHeavy => true;
    public bool UsesDailyQuota => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, "Usage_report", ct) is not { } request)
        {
            return;
        }
        if (request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], "Usage_report", ct);
            return;
        }
        var message = context.Message;
        var args = new ReportArgs(context.ChatId, request.Period.Label, message.IsTopicMessage == true ? message.MessageThreadId : null, message.MessageId,
            context.Culture.TwoLetterISOLanguageName);
        var job = await jobs.EnqueueAsync<ReportJob, ReportArgs>(args, new EnqueueOptions
        {
            Queue = ReportJob.Queue,
            UniqueKey = $"report:{context.ChatId}:{request.Period.Label}",
            ConcurrencyKey = $"report:{context.ChatId}",
        }, ct);
        var position = await jobs.PositionAsync(job.Id, ct) + 1;
        var label = StatsSupport.Describe(request.Period, context.Culture);
        if (!job.Created)
        {
            await quota.RefundAsync(context.ChatId, request.Chat.Zone, ct);
        }
        await stats.Replies.SendAsync(message, context.T(job.Created ? "ReportQueued" : "ReportAlreadyQueued", Html.Escape(label), position), ct);
    }
}
