using ChatStats.Bot.Configuration;
using ChatStats.Telegram;
using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Sending;
using ChatStats.Throttling.RateLimits;
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
        builder.Services.AddValidatedOptions<SenderOptions>(SenderOptions.Section);
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<SenderOptions>>().Value;
            var time = sp.GetRequiredService<TimeProvider>();
            // Per chat "about one a second" with a short burst is a token bucket; the group and overall limits are
            // hard ceilings (20 in any minute, 30 in any second), which only an exact sliding window keeps.
            var perChat = new TokenBucketPolicy("chat", [new BucketRate(Math.Max(1, (int)Math.Round(o.PerChatPerSecond * 100)), TimeSpan.FromSeconds(100), o.PerChatBurst)]);
            return new MessageSenderOptions
            {
                MaxReplyAge = TimeSpan.FromSeconds(o.MaxReplyAgeSeconds),
                PerChat = new TokenBucketLimiter<long>("send_chat", _ => perChat, time),
                PerGroup = new SlidingWindowLimiter<long>("send_group", new SlidingWindowOptions { PermitLimit = o.PerGroupPerMinute, Window = TimeSpan.FromMinutes(1) }, time),
                Global = new SlidingWindowLimiter<long>("send_global", new SlidingWindowOptions { PermitLimit = o.GlobalPerSecond, Window = TimeSpan.FromSeconds(1) }, time),
            };
        });
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
