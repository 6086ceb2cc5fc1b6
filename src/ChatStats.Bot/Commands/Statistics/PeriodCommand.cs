using ChatStats.Bot.Stats;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>
/// A statistics command over a period (<c>/stats 7d</c>, <c>/top 10 2026-03</c>): reads the chat and the period once,
/// refuses arguments the command does not take with the command's usage line, then answers. Heavy (the per-person
/// heavy limit applies) and chat-wide (the same question from several people is answered once) unless a command says
/// otherwise. Its usage line is the resource <c>Usage_&lt;name&gt;</c>, its menu text <see cref="DescriptionKey"/>.
/// </summary>
internal abstract class PeriodCommand(StatsSupport stats, string name, string descriptionKey) : IBotCommand
{
    public string Name => name;

    public string DescriptionKey => descriptionKey;

    public bool IsHeavy => true;

    public virtual bool ChatWide => true;

    public virtual bool UsesDailyQuota => false;

    protected StatsSupport Stats => stats;

    protected string Usage => $"Usage_{Name}";

    /// <summary>Whether words after the period are the command's own (a count, a metric, a member); otherwise they are refused.</summary>
    protected virtual bool TakesArguments => false;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (await stats.PrepareAsync(context, Usage, ct) is not { } request)
        {
            return;
        }
        if (!TakesArguments && request.Rest.Count > 0)
        {
            await stats.BadArgumentAsync(context, request.Rest[0], Usage, ct);
            return;
        }
        await AnswerAsync(context, request, ct);
    }

    /// <summary>The answer, for a chat and period already read; <see cref="StatsRequest.Rest"/> holds the other words.</summary>
    protected abstract Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct);

    /// <summary>"Nothing was written in {period}": the answer of every command whose period turned out empty.</summary>
    protected Task NothingInPeriodAsync(CommandContext context, StatsRequest request, CancellationToken ct) =>
        stats.Replies.SendAsync(context, context.T("StatsEmptyPeriod", request.Label), ct);
}
