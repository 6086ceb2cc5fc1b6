using System.Net;
using ChatStats.Bot.Web.Pages;
using ChatStats.Throttling.RateLimits;
using Hangfire;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Web;

internal static class AdminExtensions
{
    /// <summary>Sign-ins for the admin surfaces, the admin policy, forwarded headers from configured proxies only.</summary>
    public static WebApplicationBuilder AddAdmin(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<WebOptions>>((o, web) =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // ASP.NET Core trusts loopback proxies by default; ChatStats trusts only the ones configured.
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            if (web.Value.KnownProxies.Count == 0)
            {
                // With both lists empty the middleware trusts every sender, so any client could name its own address
                // to the per-IP limiter: with no proxy configured, forwarding headers are not applied at all (found
                // by the proxy tests).
                o.ForwardedHeaders = ForwardedHeaders.None;
            }
            foreach (var proxy in web.Value.KnownProxies)
            {
                if (System.Net.IPNetwork.TryParse(proxy, out var network))
                {
                    o.KnownIPNetworks.Add(network);
                }
                else if (IPAddress.TryParse(proxy, out var address))
                {
                    o.KnownProxies.Add(address);
                }
            }
        });
        builder.Services.AddAuthentication(AdminAccess.Scheme).AddCookie(AdminAccess.Scheme, o =>
        {
            o.Cookie.Name = "chatstats_admin";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.SlidingExpiration = true;
            o.LoginPath = "/admin/login";
            o.LogoutPath = "/admin/logout";
        });
        builder.Services.AddAuthorizationBuilder().AddPolicy(AdminAccess.Policy, p => p.AddRequirements(new AdminRequirement()));
        builder.Services.AddSingleton<IAuthorizationHandler, AdminAccessHandler>();
        builder.Services.AddAntiforgery(o => o.Cookie.Name = "chatstats_antiforgery");
        builder.Services.AddDataProtection().SetApplicationName("chatstats");
        builder.Services.AddSingleton<DataProtectionKeys>();
        builder.Services.AddOptions<KeyManagementOptions>().Configure<DataProtectionKeys>((o, keys) => o.XmlRepository = keys);
        builder.Services.AddRazorComponents();
        builder.Services.AddSingleton(sp => new SignInAttempts(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<AdminOverview>();
        return builder;
    }

    /// <summary>Forwarded headers, then who the caller is: before anything that reads the caller's address.</summary>
    public static WebApplication UseAdmin(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    /// <summary>The sign-in pages, Hangfire's dashboard at /hangfire (and /jobs, where the old one was, sending there).</summary>
    public static WebApplication MapAdmin(this WebApplication app)
    {
        var admin = app.MapGroup("/admin");
        admin.MapGet("/login", (HttpContext context, IOptions<WebOptions> web, string? returnUrl) =>
            new RazorComponentResult<SignInPage>(new { ReturnUrl = SafeReturn(returnUrl), TokenConfigured = !string.IsNullOrEmpty(web.Value.AdminToken) }))
            .WithSummary("The admin sign-in page.");
        admin.MapPost("/login", async Task<IResult> (HttpContext context, [FromForm] string token, [FromForm] string? returnUrl, IOptions<WebOptions> web, SignInAttempts attempts) =>
        {
            var configured = !string.IsNullOrEmpty(web.Value.AdminToken);
            if (configured && !attempts.Allow(context.Connection.RemoteIpAddress))
            {
                return new RazorComponentResult<SignInPage>(new { Throttled = true, TokenConfigured = true }) { StatusCode = StatusCodes.Status429TooManyRequests };
            }
            if (!AdminAccess.Matches(token, web.Value.AdminToken))
            {
                return new RazorComponentResult<SignInPage>(new { ReturnUrl = SafeReturn(returnUrl), Failed = configured, TokenConfigured = configured })
                {
                    StatusCode = StatusCodes.Status401Unauthorized,
                };
            }
            await context.SignInAsync(AdminAccess.Scheme, AdminAccess.Principal(web.Value.AdminToken));
            return Results.LocalRedirect(SafeReturn(returnUrl));
        }).WithSummary("Checks the admin token and signs the browser in (a cookie with a protected ticket, not the token).");
        admin.MapGet("", async (AdminOverview overview, CancellationToken ct) => new RazorComponentResult<AdminPage>(new { Snapshot = await overview.BuildAsync(ct) }))
            .RequireAuthorization(AdminAccess.Policy)
            .WithSummary("Capacity, health, load level, limiters, gates, queues and the most limited users and chats, refreshing every 5 s.");
        admin.MapPost("/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(AdminAccess.Scheme);
            return Results.LocalRedirect("/admin/login");
        }).WithSummary("Signs the browser out.");

        app.MapHangfireDashboardWithAuthorizationPolicy(AdminAccess.Policy, "/hangfire", new DashboardOptions
        {
            DashboardTitle = "ChatStats jobs",
            DisplayStorageConnectionString = false,
            // No "Back to site" link: there is no site behind the dashboard (signing out is POST /admin/logout).
            AppPath = null,
        }, app.Services.GetRequiredService<JobStorage>());
        app.MapGet("/jobs/{**rest}", () => Results.Redirect("/hangfire")).ExcludeFromDescription();
        return app;
    }

    /// <summary>Only a path of this site: never an absolute URL a link could smuggle in.</summary>
    private static string SafeReturn(string? returnUrl) =>
        returnUrl is ['/', not '/' and not '\\', ..] or "/" ? returnUrl : "/hangfire";
}

/// <summary>Sign-in attempts per address: ten in ten minutes, so the token cannot be guessed at speed.</summary>
internal sealed class SignInAttempts(TimeProvider time) : IDisposable
{
    private readonly SlidingWindowLimiter<string> _limiter = new("admin_sign_in", new SlidingWindowOptions { PermitLimit = 10, Window = TimeSpan.FromMinutes(10) }, time);

    public void Dispose() => _limiter.Dispose();

    public bool Allow(IPAddress? address)
    {
        using var lease = _limiter.AttemptAcquire(address?.ToString() ?? "unknown");
        return lease.IsAcquired;
    }
}
