using ChatStats.Bot.Configuration;
using ChatStats.Telegram.Polling;

namespace ChatStats.Bot.Ingest;

internal static class IngestExtensions
{
    /// <summary>Batch writer, batch handler and the per-chat ordered dispatcher.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddValidatedOptions<PrivacyOptions>(PrivacyOptions.Section);
        builder.Services.AddSingleton<IngestWriter>();
        builder.Services.AddSingleton<UpdateDispatcher>();
        builder.Services.AddSingleton<IngestBatchHandler>();
        builder.Services.AddSingleton<IUpdateBatchHandler>(sp => sp.GetRequiredService<IngestBatchHandler>());
        return builder;
    }
}
