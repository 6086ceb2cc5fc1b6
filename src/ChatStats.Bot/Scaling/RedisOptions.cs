using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace ChatStats.Bot.Scaling;

/// <summary>
/// The Redis every instance shares its limits through. Empty (the default): each process counts its limits alone,
/// which is right for one process and wrong for several (each would allow the whole limit).
/// </summary>
internal sealed class RedisOptions : IValidatableObject
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis form ("host:6379,password=…") or, through REDIS_URL, redis://[:password@]host:port[/db].</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Put in front of every key: two bots on one Redis keep apart by it.</summary>
    [RegularExpression("^[A-Za-z0-9:_.-]{1,64}$", ErrorMessage = "must be 1 to 64 letters, digits or : _ . -")]
    public string KeyPrefix { get; set; } = "chatstats:";

    /// <summary>How long a limit check waits for Redis before this process decides alone.</summary>
    [Range(50, 5_000, ErrorMessage = "must be between 50 and 5000 milliseconds")]
    public int OperationTimeoutMs { get; set; } = 500;

    public bool Enabled => !string.IsNullOrWhiteSpace(ConnectionString);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }
        string? error = null;
        if (ConnectionString.StartsWith("invalid REDIS_URL", StringComparison.Ordinal))
        {
            error = ConnectionString;
        }
        else
        {
            try
            {
                if (ConfigurationOptions.Parse(ConnectionString).EndPoints.Count == 0)
                {
                    error = "names no host: give host:port (e.g. 127.0.0.1:6379) or set REDIS_URL=redis://host:6379";
                }
            }
            catch (ArgumentException ex)
            {
                error = $"is not a valid Redis configuration: {ex.Message}";
            }
        }
        if (error is not null)
        {
            yield return new ValidationResult(error, [nameof(ConnectionString)]);
        }
    }
}

/// <summary>REDIS_URL (redis:// or rediss://, the form Heroku, Render and docker-compose files use) to StackExchange.Redis's form.</summary>
internal static class RedisUrl
{
    public static bool TryToConfiguration(string url, out string configuration, out string error)
    {
        configuration = "";
        error = "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
        {
            error = "expected redis://[:password@]host[:port][/database] or rediss://…";
            return false;
        }
        var options = new ConfigurationOptions { Ssl = uri.Scheme == "rediss" };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            var user = Uri.UnescapeDataString(parts[0]);
            var password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
            // redis://:secret@host has no user: the password alone, as Redis before ACLs took it.
            if (parts.Length == 1)
            {
                options.Password = user;
            }
            else
            {
                options.User = user.Length > 0 ? user : null;
                options.Password = password;
            }
        }
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var database) || database > 15)
            {
                error = $"the database '{path}' is not a number from 0 to 15";
                return false;
            }
            options.DefaultDatabase = database;
        }
        configuration = options.ToString(includePassword: true);
        return true;
    }
}
