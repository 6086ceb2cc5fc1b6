using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ChatStats.Telegram.Receiving;
using Telegram.Bot;

namespace ChatStats.Telegram.Http;

public static class BotApiServiceCollectionExtensions
{
    public const string HttpClientName = "telegram-bot-api";

    /// <summary>
    /// Registers one <see cref="ITelegramBotClient"/> over an IHttpClientFactory client: a bounded connection pool,
    /// per-call deadlines, no URL (and so no token) in any log line, and the library's own 429 retries off; and the
    /// <see cref="UpdateSource"/> that long-polls over the same client.
    /// </summary>
    public static IHttpClientBuilder AddTelegramBotClient(this IServiceCollection services, Func<IServiceProvider, BotApiConnection> connection)
    {
        services.AddSingleton(connection);
        var http = services.AddHttpClient(HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var c = sp.GetRequiredService<BotApiConnection>();
                return new SocketsHttpHandler
                {
                    MaxConnectionsPerServer = c.MaxConnections,
                    ConnectTimeout = c.ConnectTimeout,
                    // The client lives as long as the process: recycle connections so DNS changes are followed.
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
                    AutomaticDecompression = System.Net.DecompressionMethods.All,
                };
            })
            .AddHttpMessageHandler(sp => new BotApiHttpHandler(sp.GetRequiredService<BotApiConnection>()))
            .ConfigureHttpClient((sp, client) =>
            {
                // Each call has its own deadline in BotApiHttpHandler; this only bounds reading a body once headers came.
                var c = sp.GetRequiredService<BotApiConnection>();
                client.Timeout = Max(c.PollTimeout + BotApiConnection.PollMargin, c.UploadTimeout, c.RequestTimeout) + TimeSpan.FromSeconds(5);
            })
            // Held by a singleton client for the life of the process; SocketsHttpHandler rotates its own connections.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .AddLogger(sp => new BotApiHttpLogger(sp.GetRequiredService<ILogger<BotApiHttpLogger>>(), sp.GetRequiredService<BotApiConnection>()));
        services.AddSingleton<ITelegramBotClient>(sp =>
        {
            var c = sp.GetRequiredService<BotApiConnection>();
            var options = new TelegramBotClientOptions(c.Token, c.BaseUrl)
            {
                // The library would sleep inline on a 429 for up to a minute; our sender knows every chat's budget and owns them.
                RetryThreshold = 0,
                RetryCount = 0,
            };
            return new TelegramBotClient(options, sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName));
        });
        services.AddSingleton(sp => new UpdateSource(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), sp.GetRequiredService<BotApiConnection>()));
        return http;
    }

    private static TimeSpan Max(params TimeSpan[] values) => values.Max();
}
