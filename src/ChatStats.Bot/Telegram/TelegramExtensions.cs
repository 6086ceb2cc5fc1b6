using ChatStats.Bot.Configuration;
using ChatStats.Telegram;
using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Sending;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Telegram;

internal static class TelegramExtensions
{
    /// <summary>The Bot API client and sender, for every role that talks to Telegram.</summary>
    public static IHostApplicationBuilder AddTelegram(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<TelegramOptions>(TelegramOptions.Section);
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
            return new BotApiClient(new BotApiClientOptions
            {
                Token = options.BotToken,
                ApiBaseUrl = options.ApiBaseUrl,
                RequestTimeout = TimeSpan.FromSeconds(options.RequestTimeoutSeconds),
            });
        });
        builder.Services.AddSingleton(new MessageSenderOptions());
        builder.Services.AddSingleton<MessageSender>();
        return builder;
    }

    /// <summary>The long poller feeding ingest: the <c>bot</c> role.</summary>
    public static IHostApplicationBuilder AddPolling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
            return new LongPollerOptions { PollTimeout = TimeSpan.FromSeconds(options.PollTimeoutSeconds) };
        });
        builder.Services.AddSingleton<LongPoller>();
        builder.Services.AddHostedService<BotService>();
        return builder;
    }
}
