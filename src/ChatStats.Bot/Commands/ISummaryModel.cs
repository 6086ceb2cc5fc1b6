namespace ChatStats.Bot.Commands;

/// <summary>
/// Which AI model answers <c>/summary</c>, for <c>/settings</c> to show: <see langword="null"/> when none is configured
/// and the offline summary answers. Summaries/ provides it, so the commands never read the AI settings themselves.
/// </summary>
internal interface ISummaryModel
{
    string? Model { get; }
}
