using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Web;

/// <summary>
/// Who may use the admin surfaces (/api/admin/*, /hangfire, /admin), one rule for all of them. Without
/// Web:AdminToken only local requests pass; with it, only requests that hold it (as a bearer token for the API, or a
/// sign-in whose cookie holds a protected ticket, never the token), from loopback too, so setting a token closes
/// every door at once. A request is local when it comes from loopback and carries no forwarding header: a reverse
/// proxy on the same host makes every request loopback, and its X-Forwarded-For says who is really asking.
/// </summary>
internal static class AdminAccess
{
    public const string Scheme = "chatstats-admin";
    public const string Policy = "chatstats-admin";

    /// <summary>Headers a proxy adds; ForwardedHeadersMiddleware leaves X-Original-* behind when it applies X-Forwarded-*.</summary>
    private static readonly string[] ForwardingHeaders =
    [
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "X-Original-For", "X-Original-Host", "X-Original-Proto",
        "X-Client-IP", "True-Client-IP", "CF-Connecting-IP",
    ];

    public static bool IsLocal(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote)
        && !ForwardingHeaders.Any(h => context.Request.Headers.ContainsKey(h));

    /// <summary>The rule for a request: local when no token is configured, holding the token when one is.</summary>
    public static bool IsAllowed(HttpContext context, string token) =>
        string.IsNullOrEmpty(token) ? IsLocal(context) : HasToken(context, token);

    /// <summary>The admin token sent as <c>Authorization: Bearer …</c> or <c>X-Admin-Token</c>, compared in constant time.</summary>
    public static bool HasToken(HttpContext context, string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }
        var sent = context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? auth["Bearer ".Length..].Trim()
            : context.Request.Headers["X-Admin-Token"].ToString();
        return Matches(sent, token);
    }

    public static bool Matches(string presented, string token) =>
        !string.IsNullOrEmpty(token) && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>
    /// The identity a sign-in gives. It names the token it was given for by a fingerprint (a truncated hash, inside
    /// the protected ticket), so changing Web:AdminToken signs every browser out; the token itself is not in it.
    /// </summary>
    public static ClaimsPrincipal Principal(string token) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(FingerprintClaim, Fingerprint(token))], Scheme));

    /// <summary>Signed in while the token that signed it in is still the configured one.</summary>
    public static bool IsSignedIn(ClaimsPrincipal user, string token) =>
        !string.IsNullOrEmpty(token) && user.Identity is { IsAuthenticated: true, AuthenticationType: Scheme }
        && user.FindFirst(FingerprintClaim)?.Value == Fingerprint(token);

    private const string FingerprintClaim = "chatstats:token";

    private static string Fingerprint(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("chatstats-admin-sign-in\n" + token)), 0, 8);
}

/// <summary>The <see cref="AdminAccess.Policy"/>: <see cref="AdminAccess.IsAllowed"/>, or signed in with the token.</summary>
internal sealed class AdminRequirement : IAuthorizationRequirement;

internal sealed class AdminAccessHandler(IOptions<WebOptions> options) : AuthorizationHandler<AdminRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminRequirement requirement)
    {
        var http = context.Resource as HttpContext;
        if ((http is not null && AdminAccess.IsAllowed(http, options.Value.AdminToken)) || AdminAccess.IsSignedIn(context.User, options.Value.AdminToken))
        {
            context.Succeed(requirement);
        }
        return Task.CompletedTask;
    }
}
