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
