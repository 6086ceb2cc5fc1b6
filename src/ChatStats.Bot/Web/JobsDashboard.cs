using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Jobs;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Web;

/// <summary>
/// The jobs dashboard at <c>/jobs</c>, in Hangfire's layout: overview with a chart of the last hour, jobs by state
/// with paging, a job's arguments, attempts and errors with Retry and Delete, recurring jobs with Trigger now, and
/// the worker servers. Server-rendered, no scripts, readable on a phone. Behind Web:AdminToken (a cookie set by
/// /jobs/login) or, without a token, loopback callers only; every POST carries a token tied to the session and must
/// come from this site.
/// </summary>
internal static class JobsDashboard
{
    private const string Cookie = "chatstats_admin";
    private const int PageSize = 25;
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static WebApplication MapJobsDashboard(this WebApplication app)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var group = app.MapGroup("/jobs");
        group.MapGet("/login", () => Page("Sign in", """
            <form method="post" action="/jobs/login"><label>Admin token (Web:AdminToken)<br><input type="password" name="token" autofocus></label>
            <button>Sign in</button></form>
            """, null));
        group.MapPost("/login", async (HttpContext context, IOptions<WebOptions> web) =>
        {
            var form = await context.Request.ReadFormAsync();
            var token = web.Value.AdminToken ?? "";
            if (token.Length == 0 || !Same(form["token"].ToString(), token))
            {
                return Page("Sign in", "<p class=\"bad\">That is not the admin token.</p><p><a href=\"/jobs/login\">Try again</a></p>", null, 401);
            }
            context.Response.Cookies.Append(Cookie, token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = "/jobs" });
            return Results.Redirect("/jobs");
        });

        var pages = group.MapGroup("").AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            if (!Allowed(context))
            {
                return Results.Redirect("/jobs/login");
            }
            if (HttpMethods.IsPost(context.Request.Method))
            {
                var form = await context.Request.ReadFormAsync();
                // From this site only, and with the form's token: a page elsewhere cannot press these buttons.
                var site = context.Request.Headers["Sec-Fetch-Site"].ToString();
                if ((site.Length > 0 && site is not ("same-origin" or "none")) || !Same(form["csrf"].ToString(), Csrf(secret, context)))
                {
                    return Page("Refused", "<p class=\"bad\">This form did not come from the dashboard (missing or stale token). Reload the page and try again.</p>", null, 403);
                }
            }
            return await next(invocation);
        });

        pages.MapGet("", async (JobsDashboardQueries q, CancellationToken ct) =>
        {
            var counts = await q.CountsAsync(ct);
            var hour = await q.LastHourAsync(ct);
            var html = new StringBuilder("<div class=\"cards\">");
            foreach (var (state, count) in counts)
            {
                html.Append(C, $"<a class=\"card\" href=\"/jobs/state/{state}\"><span>{state}</span><b>{count:N0}</b></a>");
            }
            html.Append("</div><h2>Last hour, per minute</h2>");
            html.Append(Svg.LineChart("Succeeded per minute", [.. hour.Select(m => new Point(m.Minute.ToString("HH:mm", C), m.Succeeded))], 10, C));
            html.Append(Svg.LineChart("Failed per minute", [.. hour.Select(m => new Point(m.Minute.ToString("HH:mm", C), m.Failed))], 10, C));
            return Page("Jobs", html.ToString(), "overview");
        });

        pages.MapGet("/state/{state}", async (string state, int? page, JobsDashboardQueries q, CancellationToken ct) =>
        {
            if (!JobsSchema.States.All.Contains(state))
            {
                return Page("Not found", $"<p>'{E(state)}' is not a state: {string.Join(", ", JobsSchema.States.All)}.</p>", null, 404);
            }
            var p = Math.Max(1, page ?? 1);
            var jobs = await q.ListAsync(state, p, PageSize + 1, ct);
            var html = new StringBuilder("<table><tr><th>#</th><th>type</th><th>queue</th><th>attempt</th><th>when</th><th>last error</th></tr>");
            foreach (var job in jobs.Take(PageSize))
            {
                var when = job.FinishedAt ?? job.StartedAt ?? job.RunAt;
                html.Append(C, $"<tr><td><a href=\"/jobs/job/{job.Id}\">{job.Id}</a></td><td>{E(job.Type)}</td><td>{E(job.Queue)}</td><td>{job.Attempt}/{job.MaxAttempts}</td><td>{when:u}</td><td>{E(First(job.LastError))}</td></tr>");
            }
            html.Append("</table><p>");
            if (p > 1)
            {
                html.Append(C, $"<a href=\"/jobs/state/{state}?page={p - 1}\">← newer</a> ");
            }
            if (jobs.Count > PageSize)
            {
                html.Append(C, $"<a href=\"/jobs/state/{state}?page={p + 1}\">older →</a>");
            }
            return Page($"Jobs: {state}", html.Append("</p>").ToString(), state);
        });

        pages.MapGet("/job/{id:long}", async (long id, HttpContext context, JobsDashboardQueries q, CancellationToken ct) =>
        {
            if (await q.JobAsync(id, ct) is not { } d)
            {
                return Page("Not found", $"<p>No job {id}.</p>", null, 404);
            }
            var j = d.Job;
            var csrf = Csrf(secret, context);
            var html = new StringBuilder();
            html.Append(C, $"""
                <table>
                <tr><th>type</th><td>{E(j.Type)}</td></tr><tr><th>queue</th><td>{E(j.Queue)}</td></tr>
                <tr><th>state</th><td>{E(j.State)}{(j.Progress is { } pr ? $" ({pr} %)" : "")}</td></tr><tr><th>attempt</th><td>{j.Attempt} of {j.MaxAttempts}</td></tr>
                <tr><th>created</th><td>{j.CreatedAt:u}</td></tr><tr><th>due</th><td>{j.RunAt:u}</td></tr>
                <tr><th>started</th><td>{j.StartedAt:u}</td></tr><tr><th>finished</th><td>{j.FinishedAt:u}</td></tr>
                <tr><th>worker</th><td>{E(j.Worker ?? "")}</td></tr><tr><th>unique key</th><td>{E(d.UniqueKey ?? "")}</td></tr>
                <tr><th>concurrency key</th><td>{E(d.ConcurrencyKey ?? "")}</td></tr><tr><th>recurring</th><td>{E(d.Recurring ?? "")}</td></tr>
                </table>
                <h2>Arguments</h2><pre>{E(d.Args)}</pre>
                <form method="post" action="/jobs/job/{id}/retry"><input type="hidden" name="csrf" value="{csrf}"><button>Retry</button></form>
                <form method="post" action="/jobs/job/{id}/delete"><input type="hidden" name="csrf" value="{csrf}"><button class="danger">Delete</button></form>
                <h2>Attempts</h2>
                """);
            foreach (var a in d.Attempts)
            {
                html.Append(C, $"<h3>#{a.Attempt} {E(a.Outcome)} on {E(a.Worker)} — {a.StartedAt:u} → {a.FinishedAt:u} ({(a.FinishedAt - a.StartedAt).TotalSeconds:0.###} s)</h3>");
                if (a.Error is not null)
                {
                    html.Append("<pre class=\"bad\">").Append(E(a.Error)).Append("</pre>");
                }
            }
            if (d.Attempts.Count == 0)
            {
                html.Append("<p>None yet.</p>");
            }
            return Page($"Job {id}", html.ToString(), null);
        });

        pages.MapPost("/job/{id:long}/retry", async (long id, JobClient jobs, CancellationToken ct) =>
            await jobs.RetryAsync(id, ct) ? Results.Redirect($"/jobs/job/{id}") : Page("Not retried", $"<p>Job {id} is not failed, dead, deleted or succeeded (is it still pending or running?). <a href=\"/jobs/job/{id}\">Back</a></p>", null, 409));
        pages.MapPost("/job/{id:long}/delete", async (long id, JobClient jobs, CancellationToken ct) =>
            await jobs.DeleteAsync(id, ct) ? Results.Redirect($"/jobs/job/{id}") : Page("Not deleted", $"<p>Job {id} is running (it finishes first) or already deleted. <a href=\"/jobs/job/{id}\">Back</a></p>", null, 409));

        pages.MapGet("/recurring", async (HttpContext context, JobsDashboardQueries q, CancellationToken ct) =>
        {
            var csrf = Csrf(secret, context);
            var html = new StringBuilder("<table><tr><th>name</th><th>cron</th><th>time zone</th><th>queue</th><th>next</th><th>last</th><th></th></tr>");
            foreach (var r in await q.RecurringAsync(ct))
            {
                var last = r.LastJobId is { } job ? $"<a href=\"/jobs/job/{job}\">{r.LastRunAt:u}</a>" : "never";
                html.Append(C, $"""
                    <tr><td>{E(r.Name)}</td><td><code>{E(r.Cron)}</code></td><td>{E(r.TimeZone)}</td><td>{E(r.Queue)}</td><td>{r.NextRunAt:u}</td><td>{last}</td>
                    <td><form method="post" action="/jobs/recurring/{Uri.EscapeDataString(r.Name)}/trigger"><input type="hidden" name="csrf" value="{csrf}"><button>Trigger now</button></form></td></tr>
                    """);
            }
            return Page("Recurring jobs", html.Append("</table>").ToString(), "recurring");
        });
        pages.MapPost("/recurring/{name}/trigger", async (string name, JobClient jobs, CancellationToken ct) =>
            await jobs.TriggerRecurringAsync(name, ct) ? Results.Redirect("/jobs/recurring") : Page("Not found", $"<p>No recurring job '{E(name)}'.</p>", null, 404));

        pages.MapGet("/servers", async (JobsDashboardQueries q, TimeProvider time, CancellationToken ct) =>
        {
            var html = new StringBuilder("<table><tr><th>server</th><th>queues (workers)</th><th>started</th><th>heartbeat</th></tr>");
            foreach (var s in await q.ServersAsync(ct))
            {
                var age = time.GetUtcNow() - s.HeartbeatAt;
                html.Append(C, $"<tr><td>{E(s.Id)}</td><td><code>{E(s.Queues)}</code></td><td>{s.StartedAt:u}</td><td class=\"{(age > TimeSpan.FromMinutes(1) ? "bad" : "")}\">{age.TotalSeconds:0} s ago</td></tr>");
            }
            return Page("Servers", html.Append("</table>").ToString(), "servers");
        });
        return app;
    }

    private static bool Allowed(HttpContext context)
    {
        var token = context.RequestServices.GetRequiredService<IOptions<WebOptions>>().Value.AdminToken ?? "";
        if (token.Length == 0)
        {
            return context.Connection.RemoteIpAddress is not { } ip || IPAddress.IsLoopback(ip);
        }
        var sent = context.Request.Cookies[Cookie] ?? (context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..] : "");
        return Same(sent, token);
    }

    /// <summary>The form token: an HMAC of the caller's session (its admin cookie, or its address without one) with a per-process secret.</summary>
    private static string Csrf(byte[] secret, HttpContext context) =>
        Convert.ToHexString(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(context.Request.Cookies[Cookie] ?? context.Connection.RemoteIpAddress?.ToString() ?? "")));

    private static bool Same(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));

    private static string First(string? text) => text is null ? "" : text.Split('\n', 2)[0] is var line && line.Length > 120 ? line[..119] + "…" : text.Split('\n', 2)[0];

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static IResult Page(string title, string body, string? current, int status = 200)
    {
        string Nav(string href, string label, string key) => $"<a href=\"{href}\"{(current == key ? " class=\"here\"" : "")}>{label}</a>";
        var html = $$"""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{E(title)}} · ChatStats</title>
            <style>
              body { font-family: system-ui, "DejaVu Sans", sans-serif; margin: 0; color: #1f2933; }
              header { background: #1f2933; padding: .6rem 1rem; } header a { color: #cbd2d9; margin-right: 1rem; text-decoration: none; } header a.here { color: #fff; font-weight: bold; }
              main { padding: 1rem; max-width: 70rem; } table { border-collapse: collapse; width: 100%; font-size: .9rem; } td, th { padding: .35rem .5rem; border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
              .cards { display: flex; flex-wrap: wrap; gap: .6rem; } .card { border: 1px solid #e4e7eb; border-radius: .4rem; padding: .5rem .9rem; text-decoration: none; color: inherit; min-width: 7rem; }
              .card b { display: block; font-size: 1.5rem; } pre { background: #f5f7fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; font-size: .8rem; }
              .bad { color: #b91c1c; } form { display: inline-block; margin: .3rem .3rem .3rem 0; } button { padding: .4rem .9rem; } button.danger { color: #b91c1c; } svg { max-width: 100%; height: auto; }
            </style></head><body>
            <header>{{Nav("/jobs", "Overview", "overview")}}{{Nav("/jobs/state/enqueued", "Enqueued", "enqueued")}}{{Nav("/jobs/state/processing", "Processing", "processing")}}{{Nav("/jobs/state/failed", "Failed", "failed")}}{{Nav("/jobs/state/dead", "Dead", "dead")}}{{Nav("/jobs/state/succeeded", "Succeeded", "succeeded")}}{{Nav("/jobs/recurring", "Recurring", "recurring")}}{{Nav("/jobs/servers", "Servers", "servers")}}</header>
            <main><h1>{{E(title)}}</h1>{{body}}</main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }
}
