using ChatStats.Bot.Throttling;

namespace ChatStats.Bot.Stats;

internal static class StatsExtensions
{
    /// <summary>
    /// What answers and reports read and draw: the statistics and word queries, the chart renderer (warmed up when a
    /// role starts) and the PDF report's builder and renderer, behind the PDF gate. The chat commands, the report jobs
    /// and the <c>stats</c> and <c>report</c> verbs all take them from here.
    /// </summary>
    public static IHostApplicationBuilder AddStatistics(this IHostApplicationBuilder builder)
    {
        builder.AddLimits();
        builder.Services.AddSingleton<StatsQueries>();
        builder.Services.AddSingleton<WordQueries>();
        builder.Services.AddSingleton<Charts.ChartRenderer>();
        builder.Services.AddHostedService<Charts.ChartRenderer.Warmup>();
        builder.Services.AddSingleton<Reports.ReportBuilder>();
        builder.Services.AddSingleton<Reports.PdfRenderer>();
        return builder;
    }
}
