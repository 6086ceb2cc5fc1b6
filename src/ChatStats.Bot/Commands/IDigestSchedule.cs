namespace ChatStats.Bot.Commands;

/// <summary>
/// Keeps a chat's daily digest job in step with its settings: <c>/settings digest</c> and <c>/settings tz</c> call it
/// after writing. Reports/ provides it (the recurring job is theirs); the commands only say that something changed.
/// </summary>
internal interface IDigestSchedule
{
    /// <summary>Schedules, moves or removes the chat's digest to match its stored settings.</summary>
    Task ApplyAsync(long chatId, CancellationToken ct);
}
