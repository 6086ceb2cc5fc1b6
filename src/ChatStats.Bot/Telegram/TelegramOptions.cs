using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace ChatStats.Bot.Telegram;

internal sealed partial class TelegramOptions : IValidatableObject
{
    public const string Section = "Telegram";

    public string BotToken { get; set; } = "";
    public string ApiBaseUrl { get; set; } = "https://api.telegram.org";

    [Range(25, 50, ErrorMessage = "must be between 25 and 50 seconds (Telegram's long-poll timeout)")]
    public int PollTimeoutSeconds { get; set; } = 30;

    [Range(5, 300, ErrorMessage = "must be between 5 and 300 seconds")]
    public int RequestTimeoutSeconds { get; set; } = 30;

    public bool SetCommandsOnStart { get; set; } = true;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(BotToken))
        {
            yield return new ValidationResult(
                "is missing. Create a bot with @BotFather (/newbot) and put its token in TELEGRAM_BOT_TOKEN or appsettings.json.",
                [nameof(BotToken)]);
        }
        else if (!TokenShape().IsMatch(BotToken))
        {
            yield return new ValidationResult("does not look like a bot token (digits, a colon, then letters); copy it again from @BotFather.", [nameof(BotToken)]);
        }
        if (!Uri.TryCreate(ApiBaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            yield return new ValidationResult($"'{ApiBaseUrl}' is not an http(s) URL (TELEGRAM_API_BASE_URL).", [nameof(ApiBaseUrl)]);
        }
    }

    [GeneratedRegex(@"^\d+:[A-Za-z0-9_-]+$")]
    private static partial Regex TokenShape();
}
