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
        builder.AddWebOptions();
        var urls = builder.Configuration[$"{WebOptions.Section}:{nameof(WebOptions.Urls)}"];
        builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? new WebOptions().Urls : urls);
        HealthChecks.Register(builder.Services);
        return builder;
    }

    /// <summary>The web role's settings alone, for a host that checks them without serving (<c>doctor</c>).</summary>
    public static IHostApplicationBuilder AddWebOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<WebOptions>(WebOptions.Section);
        return builder;
    }

    /// <summary>
    /// A request that fails because of what it holds — a form field longer than the limits, a body that is not what its
    /// Content-Type says — is the caller's error: 400 with a line saying so, not a 500 and an error in the log. This
    /// covers middleware we do not write (Hangfire's dashboard reads forms for its antiforgery check).
    /// </summary>
    public static WebApplication UseBadRequestAnswers(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception ex) when (IsCallersFault(ex) && !context.Response.HasStarted)
            {
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ChatStats.Bot.Web.BadRequests");
                logger.LogInformation("Refused {Method} {Path} with 400: {Error}", context.Request.Method, context.Request.Path, ex.Message);
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("The request could not be read: its body or form is malformed or over the server's limits.", context.RequestAborted);
            }
        });
        return app;
    }

    private static bool IsCallersFault(Exception ex) => ex switch
    {
        BadHttpRequestException or Microsoft.AspNetCore.Antiforgery.AntiforgeryValidationException or InvalidDataException => true,
        _ => ex.InnerException is { } inner && IsCallersFault(inner),
    };

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
