using System.ComponentModel.DataAnnotations;
using ChatStats.Bot.Commands;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Summaries;

/// <summary>
/// The model behind /summary: any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, a local Ollama, llama.cpp or vLLM
/// server). Without an endpoint /summary answers with the summary computed here. The environment names OPENAI_BASE_URL,
/// OPENAI_API_KEY and OPENAI_MODEL set the first three.
/// </summary>
internal sealed class AiOptions : IValidatableObject
{
    public const string Section = "Ai";

    /// <summary>The API's base address, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama).</summary>
    public string? Endpoint { get; set; }

    /// <summary>The key, sent as a bearer token; local servers usually need none.</summary>
    public string? ApiKey { get; set; }

    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>The most one request may carry (prompt and transcript, estimated); longer periods are summarised in parts.</summary>
    [Range(1_000, 1_000_000, ErrorMessage = "must be between 1000 and 1000000 tokens")] public int MaxInputTokens { get; set; } = 12_000;

    /// <summary>The longest answer asked for: a summary fits one Telegram message.</summary>
    [Range(100, 16_000, ErrorMessage = "must be between 100 and 16000 tokens")] public int MaxOutputTokens { get; set; } = 900;

    /// <summary>Parts a long period is cut into at most; beyond that the transcript is sampled (the most replied-to messages first).</summary>
    [Range(1, 32, ErrorMessage = "must be between 1 and 32")] public int MaxParts { get; set; } = 4;

    /// <summary>Tokens (in and out) one chat's summaries may spend per day of its calendar; then it gets the offline summary.</summary>
    [Range(0, 100_000_000, ErrorMessage = "must be between 0 (no cap) and 100000000")] public int MaxTokensPerChatPerDay { get; set; } = 60_000;

    /// <summary>One attempt's limit: models answer a long prompt slowly, but not this slowly.</summary>
    [Range(1, 600, ErrorMessage = "must be between 1 and 600 seconds")] public int AttemptTimeoutSeconds { get; set; } = 60;

    /// <summary>One request with its retries; a summary in parts makes several.</summary>
    [Range(1, 1_800, ErrorMessage = "must be between 1 and 1800 seconds")] public int TotalTimeoutSeconds { get; set; } = 150;

    /// <summary>Retries on 429, 5xx, timeouts and network errors, waiting what Retry-After says (at most <see cref="MaxRetryDelaySeconds"/>).</summary>
    [Range(0, 10, ErrorMessage = "must be between 0 and 10")] public int MaxRetries { get; set; } = 2;

    [Range(1, 600, ErrorMessage = "must be between 1 and 600 seconds")] public int MaxRetryDelaySeconds { get; set; } = 30;

    /// <summary>The breaker opens when at least this many requests in its window failed at this ratio...</summary>
    [Range(2, 10_000, ErrorMessage = "must be between 2 and 10000")] public int BreakerMinimumThroughput { get; set; } = 4;

    [Range(0.01, 1.0, ErrorMessage = "must be between 0.01 and 1")] public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>...and stays open this long, every /summary meanwhile answered offline without a request.</summary>
    [Range(1, 3_600, ErrorMessage = "must be between 1 and 3600 seconds")] public int BreakerBreakSeconds { get; set; } = 60;

    public bool Configured => !string.IsNullOrWhiteSpace(Endpoint);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Configured && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("must be an http(s) URL such as https://api.openai.com/v1", [nameof(Endpoint)]);
        }
        if (Configured && string.IsNullOrWhiteSpace(Model))
        {
            yield return new ValidationResult("must name the model when Ai:Endpoint is set", [nameof(Model)]);
        }
        if (TotalTimeoutSeconds < AttemptTimeoutSeconds)
        {
            yield return new ValidationResult($"must be at least Ai:AttemptTimeoutSeconds ({AttemptTimeoutSeconds})", [nameof(TotalTimeoutSeconds)]);
        }
        if (MaxOutputTokens * 2 >= MaxInputTokens)
        {
            yield return new ValidationResult($"must leave room for the transcript: at most half of Ai:MaxInputTokens ({MaxInputTokens})", [nameof(MaxOutputTokens)]);
        }
    }
}

/// <summary>What /settings shows for /summary: the model the <see cref="AiClient"/> was built with, if any.</summary>
internal sealed class ConfiguredSummaryModel(IOptions<AiOptions> options) : ISummaryModel
{
    public string? Model => options.Value is { Configured: true } o ? o.Model : null;
}
