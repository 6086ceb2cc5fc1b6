using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Web;

internal static class WebExtensions
{
    /// <summary>Options, metrics exporter and Kestrel binding for the web role.</summary>
    public static WebApplicationBuilder AddWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<WebOptions>(WebOptions.Section);
        var urls = builder.Configuration[$"{WebOptions.Section}:{nameof(WebOptions.Urls)}"];
        builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? new WebOptions().Urls : urls);
        builder.Services.AddSingleton(_ => new PrometheusExporter());
        HealthChecks.Register(builder.Services);
        return builder;
    }

    /// <summary>Maps /health/live, /health/ready and /metrics.</summary>
    public static WebApplication MapHealthAndMetrics(this WebApplication app)
    {
        // Create the exporter at start so it sees every instrument from the first measurement on.
        _ = app.Services.GetRequiredService<PrometheusExporter>();

        var health = app.MapGroup("/health");
        health.MapGet("/live", () => TypedResults.Ok(new LiveStatus("live")))
            .WithSummary("The process is up.");
        health.MapHealthChecks("/ready", HealthChecks.ReadyOptions)
            .WithSummary("Database reachable, migrations applied, poller healthy, inbox draining; the AI provider's breaker.");

        app.MapGet("/metrics", (PrometheusExporter exporter) =>
            TypedResults.Text(exporter.Collect(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithSummary("Prometheus text exposition of every ChatStats, Npgsql and runtime instrument.");
        return app;
    }
}

internal sealed record LiveStatus(string Status);
