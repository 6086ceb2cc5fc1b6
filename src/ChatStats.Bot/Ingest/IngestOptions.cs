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

    /// <summary>How long recording may wait for the handlers to make room before it sheds their work instead.</summary>
    [Range(0, 600, ErrorMessage = "must be between 0 and 600 seconds")]
    public int MaxDispatchWaitSeconds { get; set; } = 5;

    /// <summary>Updates recorded per transaction by the inbox processor; larger chunks amortise commits under load.</summary>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")]
    public int ProcessBatchSize { get; set; } = 1000;

    /// <summary>Received but unrecorded updates allowed before the poller waits: bounds memory and database growth.</summary>
    [Range(100, 1_000_000, ErrorMessage = "must be between 100 and 1000000")]
    public int MaxBacklog { get; set; } = 20_000;
}
