using ChatStats.Bot.Configuration;
using ChatStats.Telegram.Polling;

namespace ChatStats.Bot.Ingest;

internal static class IngestExtensions
{
    /// <summary>The inbox the poller writes to, the processor that records it, and the per-chat ordered dispatcher.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddValidatedOptions<PrivacyOptions>(PrivacyOptions.Section);
        builder.Services.AddSingleton<IngestWriter>();
        builder.Services.AddSingleton<UpdateDispatcher>();
        builder.Services.AddSingleton<InboxSignal>();
        builder.Services.AddSingleton<InboxWriter>();
        builder.Services.AddSingleton<IUpdateBatchHandler>(sp => sp.GetRequiredService<InboxWriter>());
        builder.Services.AddSingleton<IdentityCache>(_ => new IdentityCache());
        builder.Services.AddSingleton<IngestBatchProcessor>();
        builder.Services.AddHostedService<InboxProcessor>();
        return builder;
    }
}
