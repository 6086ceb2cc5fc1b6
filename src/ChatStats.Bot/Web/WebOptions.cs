using System.ComponentModel.DataAnnotations;
using System.Net;

namespace ChatStats.Bot.Web;

internal sealed class WebOptions : IValidatableObject
{
    public const string Section = "Web";

    /// <summary>Where the web role listens; loopback by default so nothing is exposed by accident.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    public string AdminToken { get; set; } = "";

    /// <summary>API keys and the tier (Limits:Tiers) each is limited by, sent as <c>X-API-Key</c>. Requests without one are FREE, keyed by IP.</summary>
    public Dictionary<string, string> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are believed: nginx
    /// on the same host is <c>127.0.0.1</c>. From anyone else those headers are ignored, and a request carrying them is
    /// never treated as local by the admin pages.
    /// </summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Requests per minute for an anonymous caller (one IP); SECURITY_RATE_LIMIT_PER_MINUTE.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1_000_000, ErrorMessage = "must be between 1 and 1000000")]
    public int AnonymousPerMinute { get; set; } = 100;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (key, _) in ApiKeys.Where(k => k.Key.Length < 16))
        {
            yield return new ValidationResult($"API key '{key[..Math.Min(4, key.Length)]}…' is shorter than 16 characters; use a long random key (openssl rand -hex 24).", [nameof(ApiKeys)]);
        }
        foreach (var proxy in KnownProxies.Where(p => !System.Net.IPNetwork.TryParse(p, out _) && !IPAddress.TryParse(p, out _)))
        {
            yield return new ValidationResult($"'{proxy}' is neither an IP address (127.0.0.1) nor a network (10.0.0.0/8).", [nameof(KnownProxies)]);
        }
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryParseHost(url, out var host))
            {
                yield return new ValidationResult($"'{url}' is not an http(s) URL such as http://127.0.0.1:8080.", [nameof(Urls)]);
            }
            else if (!IsLoopback(host) && string.IsNullOrEmpty(AdminToken))
            {
                yield return new ValidationResult($"Web:Urls listens on '{host}', beyond loopback; set Web:AdminToken (Web__AdminToken) to protect the admin pages.", [nameof(AdminToken)]);
            }
        }
    }

    public bool ListensBeyondLoopback => Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Any(u => TryParseHost(u, out var host) && !IsLoopback(host));

    private static bool TryParseHost(string url, out string host)
    {
        // Kestrel accepts http://*:8080 and http://+:8080, which Uri does not.
        var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (Uri.TryCreate(normalized, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            host = uri.Host;
            return true;
        }
        host = "";
        return false;
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
