using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace ChatStats.Bot.Telegram;

/// <summary>How updates arrive: the bot long-polls getUpdates, or Telegram posts them to the web role.</summary>
internal enum TelegramMode
{
    Polling,
    Webhook,
}

internal sealed partial class TelegramOptions : IValidatableObject
{
    public const string Section = "Telegram";

    public string BotToken { get; set; } = "";
    public string ApiBaseUrl { get; set; } = "https://api.telegram.org";

    public TelegramMode Mode { get; set; } = TelegramMode.Polling;

    [Range(25, 50, ErrorMessage = "must be between 25 and 50 seconds (Telegram's long-poll timeout)")]
    public int PollTimeoutSeconds { get; set; } = 30;

    /// <summary>The deadline for an ordinary Bot API call's answer (TELEGRAM_READ_TIMEOUT).</summary>
    [Range(1.0, 300.0, ErrorMessage = "must be between 1 and 300 seconds")]
    public double RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>The deadline for a call that uploads a chart or a report (HTTP_TIMEOUT).</summary>
    [Range(1.0, 600.0, ErrorMessage = "must be between 1 and 600 seconds")]
    public double UploadTimeoutSeconds { get; set; } = 45;

    [Range(1.0, 120.0, ErrorMessage = "must be between 1 and 120 seconds")]
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Connections to the Bot API at once (TELEGRAM_MAX_CONNECTIONS); further calls wait for a free one.</summary>
    [Range(1, 1_000, ErrorMessage = "must be between 1 and 1000")]
    public int MaxConnections { get; set; } = 100;

    /// <summary>The public HTTPS address Telegram posts updates to in webhook mode; the web role serves its path.</summary>
    public string WebhookUrl { get; set; } = "";

    /// <summary>Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; calls without it are refused.</summary>
    public string WebhookSecret { get; set; } = "";

    /// <summary>Deliveries Telegram may have in flight at once (setWebhook's max_connections).</summary>
    [Range(1, 100, ErrorMessage = "must be between 1 and 100 (Telegram's range for max_connections)")]
    public int WebhookMaxConnections { get; set; } = 40;

    [Range(1_024, 64 * 1024 * 1024, ErrorMessage = "must be between 1024 and 67108864 bytes")]
    public int WebhookMaxBodyBytes { get; set; } = 1 << 20;

    public bool SetCommandsOnStart { get; set; } = true;

    /// <summary>The path the web role takes webhook calls on: the path of <see cref="WebhookUrl"/>.</summary>
    public string WebhookPath => Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var uri) ? uri.AbsolutePath : "";

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
        if (Mode != TelegramMode.Webhook)
        {
            yield break;
        }
        if (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var hook) || hook.Scheme is not ("http" or "https"))
        {
            yield return new ValidationResult(
                $"'{WebhookUrl}' is not the public https URL Telegram should post updates to (TELEGRAM_WEBHOOK_URL), for example https://stats.example.com/telegram/hook-7f3a. Webhook mode needs it.",
                [nameof(WebhookUrl)]);
        }
        else if (hook.AbsolutePath is "/" or "")
        {
            yield return new ValidationResult("needs a path of its own (https://stats.example.com/telegram/hook-7f3a): the web role serves other pages at /.", [nameof(WebhookUrl)]);
        }
        if (!WebhookSecretShape().IsMatch(WebhookSecret))
        {
            yield return new ValidationResult(
                "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (TELEGRAM_WEBHOOK_SECRET); webhook mode refuses calls without it. For example: openssl rand -hex 32",
                [nameof(WebhookSecret)]);
        }
    }

    [GeneratedRegex(@"^[0-9]+:[A-Za-z0-9_-]+$")]
    private static partial Regex TokenShape();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,256}$")]
    private static partial Regex WebhookSecretShape();
}
