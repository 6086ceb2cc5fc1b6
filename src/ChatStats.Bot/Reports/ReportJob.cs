using ChatStats.Bot.Jobs;
using ChatStats.Bot.Stats;
using ChatStats.Telegram.Sending;
using Hangfire.Server;
using Microsoft.Extensions.Options;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Reports;

/// <param name="ReplyTo">The /report message, so the document answers it; null for digests.</param>
internal sealed record ReportArgs(long ChatId, string Period, int? ThreadId, int? ReplyTo, string? Language);

/// <summary>
/// A chat's report: HTML with the chat's charts, printed to PDF by weasyprint behind the PDF gate, sent with
/// sendDocument. Runs on the reports queue (Jobs:Queues:reports), one report per chat at a time across every worker.
/// The queue's soft timeout stops it at its next step; at the hard timeout weasyprint is killed, whole tree. After the
/// last attempt, or a failure no retry can fix, the chat hears that its report failed and why.
/// </summary>
internal sealed class ReportJob(ReportBuilder builder, PdfRenderer pdf, MessageSender sender, StatsQueries queries, ReportRequests requests,
    JobDeadlines deadlines, IOptions<JobsOptions> jobs, TimeProvider time, ILogger<ReportJob> logger)
{
    public const string Queue = JobsOptions.ReportsQueue;

    /// <summary>
    /// Set on the job once its document is sent. A worker killed between the send and Hangfire's Succeeded state
    /// leaves the job to be fetched again after the invisibility timeout; the next attempt finds this and does not
    /// send the report twice. The window left is the few milliseconds between the send's answer and this write.
    /// </summary>
    internal const string DeliveredParameter = "Delivered";

    /// <param name="context">Supplied by Hangfire (enqueue with null): the job's id and attempt.</param>
    /// <param name="ct">Supplied by Hangfire: cancelled at shutdown (the job goes back to its queue) or deletion.</param>
    public async Task RunAsync(ReportArgs args, PerformContext? context, CancellationToken ct)
    {
        var settings = jobs.Value.Queue(Queue);
        var jobId = context?.BackgroundJob.Id ?? "inline";
        var attempt = (context?.GetJobParameter<int>(JobRetries.RetryCount) ?? 0) + 1;
        if (context?.GetJobParameter<bool>(DeliveredParameter) == true)
        {
            logger.LogWarning("Report job {JobId} for chat {ChatId} was delivered by an attempt that did not finish; not sending it again", jobId, args.ChatId);
            await requests.FinishAsync(args.ChatId, args.Period, CancellationToken.None);
            return;
        }
        // One report per chat runs at a time, across every worker; another waits its turn without spending an attempt.
        if (!await requests.TryStartAsync(args.ChatId, args.Period, jobId, TimeSpan.FromSeconds(2 * settings.TimeoutSeconds), ct))
        {
            throw new JobDeferredException(TimeSpan.FromSeconds(15), $"another report of chat {args.ChatId} is being prepared");
        }
        var chat = await queries.ChatAsync(args.ChatId, ct);
        var culture = Localizer.Choose(chat?.Language ?? args.Language, args.Language);
        var period = chat is null ? null : Period.TryParse(args.Period, chat.Zone, time.GetUtcNow(), out _);
        var label = period is null ? args.Period : Formats.Describe(period, culture);
        using var deadline = deadlines.Start(Queue, ct);
        try
        {
            var html = await builder.BuildAsync(args.ChatId, args.Period, time.GetUtcNow(), deadline.Token)
                ?? throw new PermanentJobFailureException($"chat {args.ChatId} is not recorded");
            deadline.Token.ThrowIfCancellationRequested();
            var bytes = await pdf.RenderAsync(html, deadline.Hard);
            deadline.Token.ThrowIfCancellationRequested();
            var name = $"chatstats-{args.ChatId}-{args.Period.Replace("..", "_", StringComparison.Ordinal)}.pdf";
            var caption = Localizer.Format("ReportCaption", culture, Html.Name(chat?.Title ?? Localizer.Get("ThisChat", culture)), Html.Escape(label));
            await sender.SendDocumentAsync(args.ChatId, InputFile.FromStream(new MemoryStream(bytes, writable: false), name), caption, args.ThreadId, deadline.Token);
            context?.SetJobParameter(DeliveredParameter, true);
            await requests.FinishAsync(args.ChatId, args.Period, CancellationToken.None);
        }
        catch (OperationCanceledException ex) when (deadline.Explain(ex) is { } timeout)
        {
            await FailedAsync(args, settings, attempt, label, culture, timeout);
            throw timeout;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await FailedAsync(args, settings, attempt, label, culture, ex);
            if (ex is PdfException { Missing: true })
            {
                // No retry can print without weasyprint: the job fails for good now, the chat told why.
                throw new PermanentJobFailureException(ex.Message, ex);
            }
            throw;
        }
    }

    /// <summary>On the last attempt, or a failure that is final anyway, the chat hears that the report failed and why.</summary>
    private async Task FailedAsync(ReportArgs args, QueueOptions settings, int attempt, string label, System.Globalization.CultureInfo culture, Exception ex)
    {
        var final = attempt >= settings.MaxAttempts || ex is PdfException { Missing: true } or PermanentJobFailureException;
        if (!final)
        {
            return;
        }
        logger.LogError(ex, "Report for chat {ChatId} failed for good on attempt {Attempt}; telling the chat", args.ChatId, attempt);
        var firstLine = ex.Message.Split('\n')[0];
        var reason = ex is PdfException or TimeoutException or PermanentJobFailureException
            ? firstLine.Length > 200 ? firstLine[..199] + "…" : firstLine
            : ex.GetType().Name;
        await requests.FinishAsync(args.ChatId, args.Period, CancellationToken.None);
        await sender.SendTextAsync(new OutgoingMessage
        {
            ChatId = args.ChatId,
            Text = Html.Escape(Localizer.Format("ReportFailed", culture, label, attempt, reason)),
            MessageThreadId = args.ThreadId,
            Priority = SendPriority.Bulk,
        }, CancellationToken.None);
    }
}

/// <summary>The nightly retention purge: messages past each chat's retention, and the record of answered updates.</summary>
internal sealed class RetentionPurgeJob(Privacy privacy, Npgsql.NpgsqlDataSource dataSource, TimeProvider time, ILogger<RetentionPurgeJob> logger)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var deleted = await privacy.PurgeExpiredAsync(ct);
        var handled = await Ingest.HandledUpdates.PurgeAsync(dataSource, time.GetUtcNow(), ct);
        logger.LogInformation("Retention purge deleted {Count} messages and {Handled} records of answered updates", deleted, handled);
    }
}
