using System.Globalization;
using ChatStats.Bot.Data;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Summaries;
using ChatStats.Bot.Throttling;
using ChatStats.Throttling.Concurrency;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Reports;

/// <summary>
/// The summary section of a /report when a model is configured: the model's summary of the period (through the same
/// AI gate and daily token budget as /summary), or the offline one with a line saying why, when the model cannot give
/// one within <see cref="Patience"/>. No section when the chat keeps no text, turned summaries off, or said nothing.
/// </summary>
internal sealed class ReportSummaries(SummarySource source, AiClient ai, AiSummarizer summarizer, CommandLimiters limiters,
    IOptions<AiOptions> options, ILogger<ReportSummaries> logger)
{
    /// <summary>What a report waits for the model: its job has a deadline of its own, and the PDF still to print.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>The section's text and note (the title for the caller to add), or null when there is none.</summary>
    public async Task<ReportSummary?> SectionAsync(ChatInfo chat, Period period, string label, CultureInfo culture, CancellationToken ct)
    {
        if (!options.Value.Configured || ai.Chat is null || !chat.StoreText || chat.Settings.PolicyOf("summary") == CommandPolicy.Disabled)
        {
            return null;
        }
        var lines = await source.ReadAsync(chat.Id, period, ct);
        if (lines.Count == 0)
        {
            return null;
        }
        var (reason, allowance) = await summarizer.ReadinessAsync(chat.Id, chat.Zone, ct);
        if (reason is null)
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
            patience.CancelAfter(Patience);
            try
            {
                using var lease = await limiters.Ai.EnterAsync(patience.Token);
                var request = new SummaryRequest(chat.Id, chat.Title ?? "", chat.Zone, period, label, culture.EnglishName, 500);
                var summary = await summarizer.SummarizeAsync(request, lines, allowance, patience.Token);
                return new ReportSummary(SummaryText.FromModel(summary.Text, int.MaxValue), SummaryText.BasedOn(summary, lines, ai.Model, culture));
            }
            catch (AiUnavailableException ex)
            {
                logger.LogWarning("No summary from the model for the report of chat {ChatId} ({Reason})", chat.Id, ex.Reason);
                reason = ex.Reason;
            }
            catch (OverloadException)
            {
                reason = "busy";
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                reason = "timeout";
            }
        }
        var digest = await source.DigestAsync(chat.Id, period, lines, ct);
        return new ReportSummary(SummaryText.Offline(digest, culture), SummaryText.OfflineNote(reason, culture, report: true));
    }
}
