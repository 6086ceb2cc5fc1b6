using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Web;

internal static class WebExtensions
{
    /// <summary>Options and Kestrel binding for the web role.</summary>
    public static WebApplicationBuilder AddWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<WebOptions>(WebOptions.Section);
        var urls = builder.Configuration[$"{WebOptions.Section}:{nameof(WebOptions.Urls)}"];
        builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? new WebOptions().Urls : urls);
        HealthChecks.Register(builder.Services);
        return builder;
    }

    /// <summary>Maps /health/live, /health/ready and /metrics.</summary>
    public static WebApplication MapHealthAndMetrics(this WebApplication app)
    {
        var health = app.MapGroup("/health");
        health.MapGet("/live", () => TypedResults.Ok(new LiveStatus("live")))
            .WithSummary("The process is up.");
        health.MapHealthChecks("/ready", HealthChecks.ReadyOptions)
            .WithSummary("Database reachable, migrations applied, poller healthy, inbox draining; the AI provider's breaker.");

        app.MapPrometheusMetrics()
            .WithSummary("Every ChatStats, Npgsql and runtime instrument and the process's figures, in Prometheus's text format (or OpenMetrics, when asked for).");
        return app;
    }
}

internal sealed record LiveStatus(string Status);
