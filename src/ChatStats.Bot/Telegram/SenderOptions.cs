using System.ComponentModel.DataAnnotations;

namespace ChatStats.Bot.Telegram;

/// <summary>Telegram's own limits for bots, which every send honours (core.telegram.org/bots/faq).</summary>
internal sealed class SenderOptions
{
    public const string Section = "Sender";

    [Range(0.01, 100, ErrorMessage = "must be between 0.01 and 100 messages a second")] public double PerChatPerSecond { get; set; } = 1;
    [Range(1, 100, ErrorMessage = "must be between 1 and 100")] public int PerChatBurst { get; set; } = 3;
    [Range(1, 1_000, ErrorMessage = "must be between 1 and 1000 messages a minute")] public int PerGroupPerMinute { get; set; } = 20;
    [Range(1, 1_000, ErrorMessage = "must be between 1 and 1000 messages a second")] public int GlobalPerSecond { get; set; } = 30;

    /// <summary>A reply older than this when its turn comes is dropped, not sent stale.</summary>
    [Range(1, 3_600, ErrorMessage = "must be between 1 and 3600 seconds")] public int MaxReplyAgeSeconds { get; set; } = 120;
}
