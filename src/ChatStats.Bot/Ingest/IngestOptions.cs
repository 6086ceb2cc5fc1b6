using System.ComponentModel.DataAnnotations;

namespace ChatStats.Bot.Ingest;

internal sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>Updates handled at once across all chats; one chat's updates still run one after another.</summary>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000")]
    public int MaxConcurrentUpdates { get; set; } = 200;
}
