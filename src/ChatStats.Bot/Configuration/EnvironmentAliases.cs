using Microsoft.Extensions.Configuration;

namespace ChatStats.Bot.Configuration;

/// <summary>
/// The environment names operators already use (TELEGRAM_BOT_TOKEN, DATABASE_URL…) mapped onto configuration keys.
/// Added before the standard environment source, so an explicit <c>Section__Key</c> still wins.
/// </summary>
internal sealed class EnvironmentAliasesSource(Func<string, string?> getEnvironmentVariable) : IConfigurationSource
{
    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>
    {
        ["TELEGRAM_BOT_TOKEN"] = "Telegram:BotToken",
        ["TELEGRAM_API_BASE_URL"] = "Telegram:ApiBaseUrl",
        ["TELEGRAM_MODE"] = "Telegram:Mode",
        ["TELEGRAM_WEBHOOK_URL"] = "Telegram:WebhookUrl",
        ["TELEGRAM_WEBHOOK_SECRET"] = "Telegram:WebhookSecret",
        ["TELEGRAM_MAX_CONNECTIONS"] = "Telegram:MaxConnections",
        ["TELEGRAM_READ_TIMEOUT"] = "Telegram:RequestTimeoutSeconds",
        ["TELEGRAM_CONNECT_TIMEOUT"] = "Telegram:ConnectTimeoutSeconds",
        ["HTTP_TIMEOUT"] = "Telegram:UploadTimeoutSeconds",
        ["MAX_CONCURRENT_REQUESTS"] = "Ingest:MaxConcurrentUpdates",
        ["LIMITS_ENABLED"] = "Limits:Enabled",
        ["LIMITS_MAX_CONCURRENT_PER_USER"] = "Limits:MaxConcurrentPerUser",
        ["LIMITS_MAX_QUEUE_SIZE_PER_USER"] = "Limits:MaxQueueSizePerUser",
        ["LIMITS_MAX_CONCURRENT_GLOBAL"] = "Limits:MaxConcurrentGlobal",
        ["LIMITS_MAX_QUEUE_SIZE_GLOBAL"] = "Limits:MaxQueueSizeGlobal",
        ["LIMITS_RETRY_AFTER_SECONDS"] = "Limits:RetryAfterSeconds",
        ["LIMITS_QUEUE_TIMEOUT_SECONDS"] = "Limits:QueueTimeoutSeconds",
        ["LIMITS_OVERLOAD_POLICY"] = "Limits:OverloadPolicy",
        ["AI_SEMAPHORE_LIMIT"] = "Limits:AiConcurrency",
        ["OPENAI_BASE_URL"] = "Ai:Endpoint",
        ["OPENAI_API_KEY"] = "Ai:ApiKey",
        ["OPENAI_MODEL"] = "Ai:Model",
        ["PDF_SEMAPHORE_LIMIT"] = "Limits:PdfConcurrency",
        ["SECURITY_RATE_LIMIT_PER_MINUTE"] = "Web:AnonymousPerMinute",
        ["LIMITS_MAX_ACTIVE_CHATS"] = "Limits:MaxActiveChats",
        ["LIMITS_OWNER_USER_ID"] = "Limits:OwnerUserId",
    };

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(getEnvironmentVariable);

    private sealed class Provider(Func<string, string?> getEnvironmentVariable) : ConfigurationProvider
    {
        public override void Load()
        {
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var (variable, key) in Aliases)
            {
                if (getEnvironmentVariable(variable) is { Length: > 0 } value)
                {
                    data[key] = value;
                }
            }
            if (getEnvironmentVariable("DATABASE_URL") is { Length: > 0 } url)
            {
                // A malformed URL is kept as-is so that validation reports it against the key, with the reason.
                data["Database:ConnectionString"] = DatabaseUrl.TryToConnectionString(url, out var cs, out var error) ? cs : $"invalid DATABASE_URL: {error}";
            }
            if (getEnvironmentVariable("REDIS_URL") is { Length: > 0 } redis)
            {
                data["Redis:ConnectionString"] = RedisUrl.TryToConfiguration(redis, out var configuration, out var error) ? configuration : $"invalid REDIS_URL: {error}";
            }
            Data = data;
        }
    }
}

internal static class ConfigurationExtensions
{
    /// <summary>Inserts the alias source just before the environment-variable source, or at the end if there is none.</summary>
    public static void AddEnvironmentAliases(this IConfigurationManager configuration, Func<string, string?>? getEnvironmentVariable = null)
    {
        var source = new EnvironmentAliasesSource(getEnvironmentVariable ?? Environment.GetEnvironmentVariable);
        var sources = configuration.Sources;
        var index = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource { Prefix: null or "" })
            {
                index = i;
                break;
            }
        }
        if (index < 0)
        {
            sources.Add(source);
        }
        else
        {
            sources.Insert(index, source);
        }
    }
}
