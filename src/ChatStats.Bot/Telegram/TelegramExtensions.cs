using System.Diagnostics.Metrics;
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
            TokenBucketPolicy Rate(string name, double perSecond, int burst) =>
                new(name, [new BucketRate(Math.Max(1, (int)Math.Round(perSecond * 100)), TimeSpan.FromSeconds(100), burst)]);
            var perChat = Rate("chat", o.PerChatPerSecond, o.PerChatBurst);
            var perGroup = new TokenBucketPolicy("group", [new BucketRate(o.PerGroupPerMinute, TimeSpan.FromMinutes(1), o.PerGroupPerMinute)]);
            var global = new TokenBucketPolicy("global", [new BucketRate(o.GlobalPerSecond, TimeSpan.FromSeconds(1), o.GlobalPerSecond)]);
            return new MessageSenderOptions
            {
                MaxReplyAge = TimeSpan.FromSeconds(o.MaxReplyAgeSeconds),
                PerChat = new TokenBucketLimiter<long>("send_chat", _ => perChat, time),
                PerGroup = new TokenBucketLimiter<long>("send_group", _ => perGroup, time),
                Global = new TokenBucketLimiter<long>("send_global", _ => global, time),
            };
        });
        builder.Services.AddSingleton(sp =>
        {
            var sender = ActivatorUtilities.CreateInstance<MessageSender>(sp);
            sp.GetRequiredService<IMeterFactory>().Create("ChatStats.Bot.Sender")
                .CreateObservableGauge("chatstats.sender.waiting", () => sender.Waiting, "{message}", "Sends waiting for Telegram's limits or a flood wait.");
            return sender;
        });
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
