using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using ChatStats.Bot.Data;
using ChatStats.Bot.Throttling;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Web;

/// <summary>An error as every /api endpoint answers it: <c>{"status":…,"error":…,"message":…}</c>.</summary>
internal sealed record ApiError(int Status, string Error, string Message, int? RetryAfter = null);

internal sealed record TierChange(string? Tier);

internal sealed record LimitsAnswer(string Source, IReadOnlyList<LimitsReport> Instances);

/// <summary>What <c>GET /api/admin/health</c> answers: the readiness checks and the capacity, in the seed guide's spirit.</summary>
internal sealed record AdminHealth(string Status, IReadOnlyDictionary<string, CheckState> Checks, CapacitySnapshot? Capacity);

/// <summary>
/// <c>/api</c>: rate limited per caller through ASP.NET Core's limiter (<see cref="ApiRateLimiter"/>), X-RateLimit-*
/// headers on every response, JSON errors. <c>/api/admin/*</c> needs Web:AdminToken (as a bearer token or X-Admin-Token)
/// when one is set, and a loopback caller when none is.
/// </summary>
internal static class ApiEndpoints
{
    public static readonly JsonSerializerOptions Json = LimitsReport.Json;

    public static WebApplicationBuilder AddApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiRateLimiter>();
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (rejected, ct) =>
            {
                var context = rejected.HttpContext;
                var limiter = context.RequestServices.GetRequiredService<ApiRateLimiter>();
                var caller = limiter.Caller(context);
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var who = caller.Partition.StartsWith("key:", StringComparison.Ordinal) ? $"this API key ({caller.Policy.Name})" : "anonymous callers from this address";
                await context.Response.WriteAsJsonAsync(new ApiError(429, "too_many_requests",
                    $"Rate limit for {who} reached ({caller.PerMinute} requests per minute). Retry in {seconds} s.", seconds), Json, ct);
            };
        });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<ApiRateLimiter>((o, limiter) => o.GlobalLimiter = limiter);
        return builder;
    }

    public static WebApplication MapApi(this WebApplication app)
    {
        // An /api answer of 400 or more that its endpoint left empty (no such route, a method the route does not take, a
        // body the binder could not read, one too large) still says what was wrong, in the API's JSON.
        app.UseStatusCodePages(async pages =>
        {
            var context = pages.HttpContext;
            if (context.Request.Path.StartsWithSegments("/api") && !HttpMethods.IsHead(context.Request.Method))
            {
                var status = context.Response.StatusCode;
                await context.Response.WriteAsJsonAsync(EmptyAnswer(status, context.Request), Json, context.RequestAborted);
            }
        });

        var time = app.Services.GetRequiredService<TimeProvider>();
        app.UseWhen(ApiRateLimiter.Applies, api => api.Use((context, next) =>
        {
            var limiter = context.RequestServices.GetRequiredService<ApiRateLimiter>();
            context.Response.OnStarting(() =>
            {
                limiter.WriteHeaders(context, time);
                return Task.CompletedTask;
            });
            return next(context);
        }));
        app.UseRateLimiter();
        app.UseWhen(ApiRateLimiter.Applies, api => api.Use(async (context, next) =>
        {
            if (context.RequestServices.GetRequiredService<ApiRateLimiter>().Caller(context).InvalidKey)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsJsonAsync(new ApiError(401, "invalid_api_key", "The X-API-Key header holds a key this server does not know; check Web:ApiKeys, or send no key to be served as anonymous."), Json);
                return;
            }
            await next(context);
        }));

        var api = app.MapGroup("/api");
        api.MapGet("/status", (CapacityMonitor capacity, RoleSet roles) => TypedResults.Json(new
        {
            Status = "ok",
            Roles = roles.ToString(),
            Version = typeof(ApiEndpoints).Assembly.GetName().Version?.ToString(),
            CanAcceptNewChats = capacity.Snapshot?.CanAcceptNew,
        }, Json)).WithSummary("Public: the service is up, and whether it takes new groups.");

        var admin = api.MapGroup("/admin").AddEndpointFilter(RequireAdmin);
        admin.MapGet("/capacity", async (CapacityMonitor capacity, TimeProvider clock, CancellationToken ct) =>
        {
            var snapshot = capacity.Snapshot;
            if (snapshot is null || clock.GetUtcNow() - snapshot.MeasuredAt > CapacityService.Interval)
            {
                snapshot = await capacity.RefreshAsync(ct);
            }
            return TypedResults.Json(snapshot, Json);
        }).WithSummary("Active groups against Limits:MaxActiveChats: current, max, percent, available, status, can_accept_new.");

        admin.MapGet("/limits", async (IServiceProvider services, NpgsqlDataSource dataSource, CancellationToken ct) =>
        {
            var (source, reports) = await AdminOverview.ReadLimitsAsync(services, dataSource, ct);
            return reports.Count == 0
                ? Results.Json(new ApiError(503, "no_bot", "No bot process has reported in the last minute; is 'chatstats bot' running?"), Json, statusCode: 503)
                : Results.Json(new LimitsAnswer(source, reports), Json);
        }).WithSummary("The limiters of each running bot process: concurrency, queues, gates, load level, sender queue, the users and chats refused most.");

        admin.MapGet("/stats", async (AdminOverview overview, CancellationToken ct) => TypedResults.Json(await overview.BuildAsync(ct), Json))
            .WithSummary("Everything /admin shows: capacity, health checks, each bot's limiters, gates, queues and load level, the most limited users and chats, jobs, memory.");

        admin.MapGet("/health", async (HealthCheckService health, CapacityMonitor capacity, CancellationToken ct) =>
        {
            var report = await health.CheckHealthAsync(r => r.Tags.Contains(HealthChecks.Ready), ct);
            var body = new AdminHealth(
                report.Status.ToString().ToLowerInvariant(),
                report.Entries.ToDictionary(e => e.Key, e => new CheckState(e.Key, e.Value.Status.ToString(), e.Value.Description ?? e.Value.Exception?.Message ?? "")),
                capacity.Snapshot);
            return Results.Json(body, Json, statusCode: report.Status == HealthStatus.Unhealthy ? 503 : 200);
        }).WithSummary("For an uptime monitor: 200 while the service works (status healthy or degraded), 503 when it does not; with the capacity.");

        admin.MapGet("/chats/{chatId:long}/tier", async (long chatId, ChatTiers tiers, CancellationToken ct) =>
            await tiers.GetAsync(chatId, ct) is { } tier
                ? Results.Json(tier, Json)
                : Results.Json(new ApiError(404, "unknown_chat", $"No chat {chatId} is recorded. Group ids are negative."), Json, statusCode: 404));

        admin.MapPut("/chats/{chatId:long}/tier", async (long chatId, TierChange? body, ChatTiers tiers, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body?.Tier))
            {
                return Results.Json(new ApiError(400, "missing_tier", $"Send {{\"tier\": \"PREMIUM\"}}: one of {string.Join(", ", tiers.Names.Select(n => n.ToUpperInvariant()))} or \"default\"."), Json, statusCode: 400);
            }
            try
            {
                return await tiers.SetAsync(chatId, body.Tier, ct) is { } tier
                    ? Results.Json(tier, Json)
                    : Results.Json(new ApiError(404, "unknown_chat", $"No chat {chatId} is recorded. Group ids are negative."), Json, statusCode: 404);
            }
            catch (ArgumentException ex)
            {
                return Results.Json(new ApiError(400, "unknown_tier", ex.Message), Json, statusCode: 400);
            }
        }).WithSummary("Sets a chat's rate tier; the bot applies it from the chat's next command.");
        return app;
    }

    private static ApiError EmptyAnswer(int status, HttpRequest request) => status switch
    {
        404 => new(404, "not_found", $"There is no {request.Path} in this API. GET /api/status is public; the rest are under /api/admin (README, \"HTTP API\")."),
        405 => new(405, "method_not_allowed", $"{request.Path} does not take {request.Method}."),
        400 => new(400, "bad_request", "The request could not be read: send a JSON body of the documented shape, e.g. {\"tier\": \"PREMIUM\"}, with Content-Type: application/json."),
        413 => new(413, "too_large", "The request body is larger than this server accepts."),
        415 => new(415, "unsupported_media_type", "Send the body as JSON, with Content-Type: application/json."),
        _ => new(status, "error", $"The request was refused ({status})."),
    };

    /// <summary>Admin endpoints: local callers (<see cref="AdminAccess.IsLocal"/>), or the admin token; JSON errors otherwise.</summary>
    private static async ValueTask<object?> RequireAdmin(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var token = context.RequestServices.GetRequiredService<IOptions<WebOptions>>().Value.AdminToken;
        if (AdminAccess.IsAllowed(context, token))
        {
            return await next(invocation);
        }
        return string.IsNullOrEmpty(token)
            ? Results.Json(new ApiError(403, "forbidden", "Admin endpoints answer local callers only (not through a proxy) until Web:AdminToken is set."), Json, statusCode: 403)
            : Results.Json(new ApiError(401, "unauthorized", "Send the admin token as 'Authorization: Bearer <Web:AdminToken>' or 'X-Admin-Token'."), Json, statusCode: 401);
    }
}
