using System.ComponentModel.DataAnnotations;

namespace ChatStats.Bot.Ingest;

internal sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>Updates handled at once across all chats; one chat's updates still run one after another.</summary>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")]
    public int MaxConcurrentUpdates { get; set; } = 200;

    /// <summary>Updates waiting for a handler in one chat; beyond it that chat's extra commands are shed (they are recorded).</summary>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")]
    public int MaxQueuedPerChat { get; set; } = 20;

    /// <summary>
    /// Questions waiting for their chat's turn across all chats; beyond it an answer is given up at once (a person's older
    /// question first). Recording never waits for answers, so this bounds only memory and staleness.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "must be between 1 and 100000")]
    public int MaxWaitingAnswers { get; set; } = 1000;

    /// <summary>Updates recorded per transaction by the inbox processor; larger chunks amortise commits under load.</summary>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")]
    public int ProcessBatchSize { get; set; } = 1000;

    /// <summary>Received but unrecorded updates allowed before the poller waits: bounds memory and database growth.</summary>
    [Range(100, 1_000_000, ErrorMessage = "must be between 100 and 1000000")]
    public int MaxBacklog { get; set; } = 20_000;
}
