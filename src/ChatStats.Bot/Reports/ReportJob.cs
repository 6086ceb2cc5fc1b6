using ChatStats.Bot.Commands;
using ChatStats.Bot.Stats;
using ChatStats.Jobs;
using ChatStats.Telegram.Sending;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Reports;

/// <param name="ReplyTo">The /report message, so the document answers it; null for digests.</param>
internal sealed record ReportArgs(long ChatId, string Period, int? ThreadId, int? ReplyTo, string? Language);

/// <summary>Builds a chat's report, prints it to PDF behind the PDF gate, and sends it with sendDocument.</summary>
internal sealed class ReportJob(ReportBuilder builder, PdfRenderer pdf, MessageSender sender, StatsQueries queries, TimeProvider time, ILogger<ReportJob> logger)
    : IJob<ReportArgs>
{
    public const string Queue = "reports";

    public async Task RunAsync(ReportArgs args, JobContext context)
    {
        var ct = context.Cancellation;
        var chat = await queries.ChatAsync(args.ChatId, ct);
        var culture = Localizer.Choose(chat?.Language ?? args.Language, args.Language);
        var period = chat is null ? null : Period.TryParse(args.Period, chat.Zone, time.GetUtcNow(), out _);
        var label = period is null ? args.Period : StatsSupport.Describe(period, culture);
        try
        {
            var html = await builder.BuildAsync(args.ChatId, args.Period, time.GetUtcNow(), ct) ?? throw new InvalidOperationException($"chat {args.ChatId} is not recorded");
            await context.ReportProgressAsync(50);
            var bytes = await pdf.RenderAsync(html, ct);
            await context.ReportProgressAsync(90);
            var name = $"chatstats-{args.ChatId}-{args.Period.Replace("..", "_", StringComparison.Ordinal)}.pdf";
            var caption = Localizer.Format("ReportCaption", culture, Html.Escape(chat?.Title ?? Localizer.Get("ThisChat", culture)), Html.Escape(label));
            await sender.SendDocumentAsync(args.ChatId, InputFile.FromStream(new MemoryStream(bytes, writable: false), name), caption, args.ThreadId, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && (context.Attempt >= context.MaxAttempts || ex is PdfException { Missing: true }))
        {
            // The last attempt: the chat hears that it failed instead of waiting forever.
            logger.LogError(ex, "Report for chat {ChatId} failed on its last attempt", args.ChatId);
            var reason = ex is PdfException ? ex.Message.Split('\n')[0] is var line && line.Length > 200 ? line[..199] + "…" : ex.Message.Split('\n')[0] : ex.GetType().Name;
            await sender.SendTextAsync(new OutgoingMessage
            {
                ChatId = args.ChatId,
                Text = Html.Escape(Localizer.Format("ReportFailed", culture, label, context.Attempt, reason)),
                MessageThreadId = args.ThreadId,
                Priority = SendPriority.Bulk,
            }, CancellationToken.None);
            if (ex is PdfException { Missing: true })
            {
                // No retry can print without weasyprint: the job is dead now, the chat told why.
                throw new PermanentJobFailureException(ex.Message, ex);
            }
            throw;
        }
    }
}

/// <summary>The nightly retention purge, as a recurring job.</summary>
internal sealed record PurgeArgs;

internal sealed class RetentionPurgeJob(Privacy privacy, Npgsql.NpgsqlDataSource dataSource, TimeProvider time, ILogger<RetentionPurgeJob> logger) : IJob<PurgeArgs>
{
    public async Task RunAsync(PurgeArgs args, JobContext context)
    {
        var deleted = await privacy.PurgeExpiredAsync(context.Cancellation);
        var handled = await Ingest.HandledUpdates.PurgeAsync(dataSource, time.GetUtcNow(), context.Cancellation);
        logger.LogInformation("Retention purge deleted {Count} messages and {Handled} records of answered updates", deleted, handled);
    }
}
