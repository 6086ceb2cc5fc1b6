using ChatStats.Bot.Configuration;
using ChatStats.Bot.Ingest;
using ChatStats.Telegram.Http;
using ChatStats.Telegram.Receiving;
using ChatStats.Telegram.Sending;
using ChatStats.Throttling.RateLimits;
using ChatStats.Throttling.Shared;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Telegram;

internal static class TelegramExtensions
{
    /// <summary>The Bot API client (Telegram.Bot's, over a bounded HTTP pool) and the flood-controlled sender, for every role that talks to Telegram.</summary>
    public static IHostApplicationBuilder AddTelegram(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<TelegramOptions>(TelegramOptions.Section);
        builder.Services.AddSingleton<BotIdentity>();
        builder.Services.AddTelegramBotClient(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
            return new BotApiConnection
            {
                Token = o.BotToken,
                // Telegram.Bot treats any base URL as a local Bot API server; Telegram's own is its default.
                BaseUrl = IsTelegramsOwn(o.ApiBaseUrl) ? null : o.ApiBaseUrl,
                RequestTimeout = TimeSpan.FromSeconds(o.RequestTimeoutSeconds),
                UploadTimeout = TimeSpan.FromSeconds(o.UploadTimeoutSeconds),
                ConnectTimeout = TimeSpan.FromSeconds(o.ConnectTimeoutSeconds),
                PollTimeout = TimeSpan.FromSeconds(o.PollTimeoutSeconds),
                MaxConnections = o.MaxConnections,
            };
        });
        builder.Services.AddValidatedOptions<SenderOptions>(SenderOptions.Section);
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<SenderOptions>>().Value;
            var time = sp.GetRequiredService<TimeProvider>();
            // Telegram counts sends when they reach it, so every limit is an arrival window: a permit is held while its
            // request is on the way and its window starts when Telegram has answered (network delay cannot make a send
            // land early). "About one a second per chat, with short bursts" is a burst's worth in a burst's time; the
            // group and overall limits are hard ceilings (20 in any minute, 30 in any second).
            var chatWindow = TimeSpan.FromSeconds(o.PerChatBurst / o.PerChatPerSecond);
            var perChat = new SlidingWindowOptions { PermitLimit = o.PerChatBurst, Window = chatWindow };
            var perGroup = new SlidingWindowOptions { PermitLimit = o.PerGroupPerMinute, Window = TimeSpan.FromMinutes(1) };
            var global = new SlidingWindowOptions { PermitLimit = o.GlobalPerSecond, Window = TimeSpan.FromSeconds(1) };
            var defaults = new MessageSenderOptions();
            if (sp.GetService<Scaling.SharedLimits>()?.Store is { } store)
            {
                // Telegram's budgets belong to the bot token, not to a process: with Redis every instance that sends (bot
                // and worker roles) takes from the same windows and honours the same flood waits; while Redis is away each
                // takes its share of them (the live senders counted from the heartbeats).
                var peers = sp.GetRequiredService<Scaling.DeploymentPeers>();
                Func<int> share = () => peers.Sending;
                return new MessageSenderOptions
                {
                    MaxReplyAge = TimeSpan.FromSeconds(o.MaxReplyAgeSeconds),
                    PerChat = new SharedWindowLimiter<long>("send_chat", perChat, WindowStamp.Returned, store, share),
                    PerGroup = new SharedWindowLimiter<long>("send_group", perGroup, WindowStamp.Returned, store, share),
                    Global = new SharedWindowLimiter<long>("send_global", global, WindowStamp.Returned, store, share),
                    FloodWaits = new Scaling.RedisFloodWaits(store, new LocalFloodWaits(defaults.MaxPenalty, defaults.RelaxAfter, time), defaults.MaxPenalty, defaults.RelaxAfter, time),
                };
            }
            return new MessageSenderOptions
            {
                MaxReplyAge = TimeSpan.FromSeconds(o.MaxReplyAgeSeconds),
                PerChat = new ArrivalWindowLimiter<long>("send_chat", perChat, time),
                PerGroup = new ArrivalWindowLimiter<long>("send_group", perGroup, time),
                Global = new ArrivalWindowLimiter<long>("send_global", global, time),
            };
        });
        builder.Services.AddSingleton<MessageSender>();
        return builder;
    }

    /// <summary>
    /// The <c>bot</c> role's side of receiving: <see cref="BotService"/> (who the bot is, the webhook set or removed, the
    /// command menu) and, in polling mode, the long poller feeding the inbox.
    /// </summary>
    public static IHostApplicationBuilder AddReceiving(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
            return new LongPollerOptions { PollTimeout = TimeSpan.FromSeconds(options.PollTimeoutSeconds) };
        });
        builder.Services.AddSingleton<LongPoller>();
        builder.Services.AddSingleton<PollerLeadership>();
        builder.Services.AddHostedService<BotService>();
        return builder;
    }

    /// <summary>True when <c>Telegram:Mode</c> says Telegram posts updates to the web role.</summary>
    public static bool UsesWebhook(this IConfiguration configuration) =>
        Enum.TryParse<TelegramMode>(configuration[$"{TelegramOptions.Section}:{nameof(TelegramOptions.Mode)}"], ignoreCase: true, out var mode) && mode == TelegramMode.Webhook;

    /// <summary>In webhook mode, the <c>web</c> role takes Telegram's calls into the same inbox the poller fills.</summary>
    public static IHostApplicationBuilder AddWebhook(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<TelegramOptions>(TelegramOptions.Section);
        builder.AddInbox();
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
            return new WebhookReceiverOptions { SecretToken = o.WebhookSecret, MaxBodyBytes = o.WebhookMaxBodyBytes };
        });
        return builder;
    }

    /// <summary>Maps the webhook at the path of <c>Telegram:WebhookUrl</c>.</summary>
    public static WebApplication MapWebhook(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<TelegramOptions>>().Value;
        app.MapTelegramWebhook(options.WebhookPath);
        return app;
    }

    private static bool IsTelegramsOwn(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == "https" && uri.Host == "api.telegram.org" && uri.IsDefaultPort;
}
