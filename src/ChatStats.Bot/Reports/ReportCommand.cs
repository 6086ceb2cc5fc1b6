using ChatStats.Bot.Commands;
using ChatStats.Bot.Commands.Statistics;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Telegram;
using ChatStats.Bot.Throttling;
using Hangfire;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Reports;

/// <summary>
/// /report [period]: enqueues the chat's PDF report on the reports queue (one per chat and period at a time; one report
/// per chat runs at once) and answers at once with its place in the queue. Costs a unit of the chat's daily quota,
/// given back when a report for the same period was already on its way.
/// </summary>
internal sealed class ReportCommand(StatsSupport stats, IBackgroundJobClient jobs, JobStorage storage, ReportRequests requests, DailyQuota quota)
    : PeriodCommand(stats, "report", "CommandReport")
{
    /// <summary>Each asker's own report request (the quota and the queue position are theirs).</summary>
    public override bool ChatWide => false;

    public override bool UsesDailyQuota => true;

    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var message = context.Message;
        var label = Formats.Describe(request.Period, context.Culture);
        if (!await requests.TryRequestAsync(context.ChatId, request.Period.Label, ct))
        {
            await quota.RefundAsync(context.ChatId, request.Chat.Zone, ct);
            await Stats.Replies.SendAsync(message, context.T("ReportAlreadyQueued", Html.Escape(label)), ct);
            return;
        }
        var args = new ReportArgs(context.ChatId, request.Period.Label, message.TopicId(), message.MessageId, context.Culture.TwoLetterISOLanguageName);
        string job;
        try
        {
            // The queue goes on the job itself, so its retries come back to the reports queue too.
            job = jobs.Enqueue<ReportJob>(ReportJob.Queue, j => j.RunAsync(args, null, CancellationToken.None));
        }
        catch (BackgroundJobClientException)
        {
            // Not enqueued (Hangfire's storage unreachable): the request would otherwise block this period for an hour
            // and the quota unit would be spent on nothing. Best effort: the database may be what is down.
            await UndoAsync(context.ChatId, request.Period.Label, request.Chat.Zone);
            throw;
        }
        await requests.AttachAsync(context.ChatId, request.Period.Label, job, ct);
        // Its place: every report waiting in the queue (this one included), from Hangfire's own count.
        var position = storage.GetMonitoringApi().EnqueuedCount(ReportJob.Queue);
        await Stats.Replies.SendAsync(message, context.T("ReportQueued", Html.Escape(label), Math.Max(1, position)), ct);
    }

    private async Task UndoAsync(long chatId, string period, TimeZoneInfo zone)
    {
        try
        {
            await requests.FinishAsync(chatId, period, CancellationToken.None);
            await quota.RefundAsync(chatId, zone, CancellationToken.None);
        }
        catch (Npgsql.NpgsqlException)
        {
            // The request goes stale after ReportRequests.Stale, and the unit with the day.
        }
    }
}
