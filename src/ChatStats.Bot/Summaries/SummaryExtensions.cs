using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Summaries;

internal static class SummaryExtensions
{
    /// <summary>/summary's parts: the model client (when configured), the offline summary, the runner in the background.</summary>
    public static IHostApplicationBuilder AddSummaries(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<AiOptions>(AiOptions.Section);
        AiClient.Register(builder.Services);
        builder.Services.AddSingleton<AiBudget>();
        builder.Services.AddSingleton<AiSummarizer>();
        builder.Services.AddSingleton<Commands.ISummaryModel, ConfiguredSummaryModel>();
        builder.Services.AddSingleton<SummarySource>();
        builder.Services.AddSingleton<Reports.ReportSummaries>();
        builder.Services.AddScoped<SummaryService>();
        builder.Services.AddSingleton<SummaryRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SummaryRunner>());
        return builder;
    }
}
