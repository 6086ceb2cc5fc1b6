using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Npgsql;

namespace ChatStats.Bot.Data;

internal sealed class DatabaseOptions : IValidatableObject
{
    public const string Section = "Database";

    public string ConnectionString { get; set; } = "";

    /// <summary>The guide's pool of 5 plus 5 overflow: a bot under load must wait for a connection, not open hundreds.</summary>
    [Range(1, 500, ErrorMessage = "must be between 1 and 500 connections")]
    public int MaxPoolSize { get; set; } = 10;

    /// <summary>
    /// Recording's own connections (the inbox and the chunks being recorded), apart from <see cref="MaxPoolSize"/>: however
    /// many answers are being computed, recording never queues behind them for a connection.
    /// </summary>
    [Range(1, 50, ErrorMessage = "must be between 1 and 50 connections")]
    public int IngestPoolSize { get; set; } = 3;

    [Range(1, 600, ErrorMessage = "must be between 1 and 600 seconds")]
    public int ConnectionTimeoutSeconds { get; set; } = 30;

    [Range(0, 86_400, ErrorMessage = "must be between 0 (never recycle) and 86400 seconds")]
    public int ConnectionLifetimeSeconds { get; set; } = 3600;

    [Range(1, 3600, ErrorMessage = "must be between 1 and 3600 seconds")]
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// A statistics query that takes longer is logged with its name and counted on /metrics
    /// (<c>chatstats_db_slow_queries_total{query}</c>); 0 logs none.
    /// </summary>
    [Range(0, 600_000, ErrorMessage = "must be between 0 (log none) and 600000 milliseconds")]
    public int SlowQueryMs { get; set; } = 500;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult("is missing. Set DATABASE_URL=postgres://user:pass@host:5432/db or Database__ConnectionString.", [nameof(ConnectionString)]);
            yield break;
        }
        string? error = null;
        if (ConnectionString.StartsWith("invalid DATABASE_URL", StringComparison.Ordinal))
        {
            error = ConnectionString;
        }
        else
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(ConnectionString);
            }
            catch (ArgumentException ex)
            {
                error = $"is not a valid Npgsql connection string: {ex.Message}";
            }
        }
        if (error is not null)
        {
            yield return new ValidationResult(error, [nameof(ConnectionString)]);
        }
    }

    /// <summary>
    /// Settings every connection starts its session with (PostgreSQL's startup <c>options</c>, so a pooled connection's
    /// reset keeps them), unless the connection string's own <c>Options</c> set the same name. ChatStats asks short
    /// questions of a small server that is recording at the same time, and PostgreSQL's defaults are made for the
    /// opposite: a 30-day leaderboard of a 10M-message chat (300,000 hourly rows) crossed <c>jit_above_cost</c> and spent
    /// ~40 ms compiling itself before a 60 ms scan, and with parallel workers allowed the planner read the whole table
    /// on both cores (1.0 s) instead of the chat's index range on one (60 ms), leaving recording no processor at all.
    /// Measured in docs/benchmarks.md, "With a 10M-message big chat".
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Value)> SessionDefaults = [("jit", "off"), ("max_parallel_workers_per_gather", "0")];

    /// <summary>The connection string's own startup options with each of <see cref="SessionDefaults"/> they do not set added.</summary>
    public static string WithSessionDefaults(string? options)
    {
        var result = options?.Trim() ?? "";
        foreach (var (name, value) in SessionDefaults)
        {
            // PostgreSQL takes both "-c name=value" and "--name=value" (a dash may stand for an underscore in the latter).
            var set = Regex.IsMatch(result, $@"(^|\s)(-c\s*|--){name.Replace("_", "[_-]")}=");
            if (!set)
            {
                result = $"{result} -c {name}={value}".TrimStart();
            }
        }
        return result;
    }

    /// <summary>The configured connection string with the pool bounds and <see cref="SessionDefaults"/> applied on top.</summary>
    public string BuildConnectionString(string? applicationName = null, int? maxPoolSize = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            MaxPoolSize = maxPoolSize ?? MaxPoolSize,
            Timeout = ConnectionTimeoutSeconds,
            ConnectionLifetime = ConnectionLifetimeSeconds,
            CommandTimeout = CommandTimeoutSeconds,
        };
        if (builder.MaxAutoPrepare == 0)
        {
            // Ingest sends the same few long statements for every chunk: planning them once saves about a millisecond each time.
            builder.MaxAutoPrepare = 32;
            builder.AutoPrepareMinUsages = 2;
        }
        builder.Options = WithSessionDefaults(builder.Options);
        if (builder.MinPoolSize > builder.MaxPoolSize)
        {
            builder.MinPoolSize = builder.MaxPoolSize;
        }
        if (applicationName is not null && string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = applicationName;
        }
        return builder.ConnectionString;
    }
}
