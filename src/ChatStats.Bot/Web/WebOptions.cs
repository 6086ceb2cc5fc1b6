using System.ComponentModel.DataAnnotations;
using System.Net;

namespace ChatStats.Bot.Web;

internal sealed class WebOptions : IValidatableObject
{
    public const string Section = "Web";

    /// <summary>Where the web role listens; loopback by default so nothing is exposed by accident.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    public string AdminToken { get; set; } = "";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
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
