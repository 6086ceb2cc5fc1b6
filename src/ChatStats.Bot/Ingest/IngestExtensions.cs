using ChatStats.Bot.Configuration;
using ChatStats.Telegram.Receiving;

namespace ChatStats.Bot.Ingest;

internal static class IngestExtensions
{
    /// <summary>The inbox that receiving writes to: every role that receives updates (bot polling, web taking webhooks).</summary>
    public static IHostApplicationBuilder AddInbox(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(InboxWriter)))
        {
            return builder;
        }
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddSingleton<IngestWriter>();
        builder.Services.AddSingleton<InboxSignal>();
        builder.Services.AddSingleton<InboxWriter>();
        builder.Services.AddSingleton<IUpdateInbox>(sp => sp.GetRequiredService<InboxWriter>());
        builder.Services.AddHostedService<InboxBacklogMonitor>();
        return builder;
    }

    /// <summary>The processor that records the inbox, and the per-chat ordered dispatcher: the <c>bot</c> role.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        builder.AddInbox();
        builder.Services.AddValidatedOptions<PrivacyOptions>(PrivacyOptions.Section);
        builder.Services.AddSingleton<Scaling.ChatOrder>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Scaling.ChatOrder>());
        builder.Services.AddSingleton<UpdateDispatcher>();
        builder.Services.AddSingleton<IdentityCache>(_ => new IdentityCache());
        builder.Services.AddSingleton<IngestBatchProcessor>();
        builder.Services.AddHostedService<InboxProcessor>();
        builder.Services.AddHostedService<WordRollupFolder>();
        return builder;
    }
}
