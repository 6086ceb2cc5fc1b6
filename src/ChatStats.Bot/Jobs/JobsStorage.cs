using ChatStats.Bot.Data;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// Hangfire's connections: a data source of their own, bounded by Jobs:MaxConnections (named chatstats-jobs in
/// pg_stat_activity), so the process holds at most Database:MaxPoolSize + Jobs:MaxConnections connections, and a
/// flood of commands cannot starve the job servers' heartbeats or fetches (nor jobs the commands).
/// </summary>
internal sealed class JobsDataSource(NpgsqlDataSource dataSource) : IConnectionFactory, IDisposable
{
    public const string ApplicationName = "chatstats-jobs";

    public NpgsqlDataSource DataSource { get; } = dataSource;

    public static JobsDataSource Create(DatabaseOptions database, JobsOptions jobs, ILoggerFactory loggers)
    {
        var builder = new NpgsqlConnectionStringBuilder(new DatabaseOptions
        {
            ConnectionString = database.ConnectionString,
            MaxPoolSize = jobs.MaxConnections,
            ConnectionTimeoutSeconds = database.ConnectionTimeoutSeconds,
            ConnectionLifetimeSeconds = database.ConnectionLifetimeSeconds,
            CommandTimeoutSeconds = database.CommandTimeoutSeconds,
        }.BuildConnectionString())
        {
            ApplicationName = ApplicationName,
            // Hangfire.PostgreSql runs its own SQL text per call; statement preparation would only fill the server's cache.
            MaxAutoPrepare = 0,
            // It manages its transactions itself (UseNativeDatabaseTransactions).
            Enlist = false,
        };
        var source = new NpgsqlDataSourceBuilder(builder.ConnectionString) { Name = ApplicationName };
        source.UseLoggerFactory(loggers);
        return new JobsDataSource(source.Build());
    }

    /// <summary>An unopened connection: the storage opens it, and disposing it returns it to this bounded pool.</summary>
    public NpgsqlConnection GetOrCreateConnection() => DataSource.CreateConnection();

    /// <summary>The storage with the settings ChatStats needs, and why each differs from the library's default.</summary>
    public PostgreSqlStorage CreateStorage(JobsOptions options) => new(this, new PostgreSqlStorageOptions
    {
        // The schema is installed here first, taking turns with the other roles (JobsSchema): the library's own installer
        // would race them. Only when the database could not be reached does the library install, at the storage's
        // first use (below).
        PrepareSchemaIfNecessary = !JobsSchema.TryInstall(this),
        SchemaName = JobsOptions.Schema,
        // A killed worker's job comes back after a minute, not 30; and a long job is never fetched twice while it runs.
        InvisibilityTimeout = TimeSpan.FromSeconds(options.InvisibilityTimeoutSeconds),
        UseSlidingInvisibilityTimeout = true,
        // 15 s by default: a report enqueued by the bot would wait that long for a worker in another process.
        QueuePollInterval = TimeSpan.FromMilliseconds(options.QueuePollIntervalMilliseconds),
        // LISTEN/NOTIFY would hold a connection per idle worker; polling at the interval above keeps within the bound.
        EnableLongPolling = false,
        // The library retries the installation five times from 1 s doubling, with Thread.Sleep, when the database is
        // away: a web or worker role started during an outage sat 31 s in start-up, and the bot's first /report held
        // a handler (and a thread) as long. One quick second try, then degraded mode: the storage installs itself at
        // its next use, and until then its calls fail like any other database call (the chat hears it is busy).
        StartupConnectionMaxRetries = 1,
        StartupConnectionBaseDelay = TimeSpan.Zero,
        AllowDegradedModeWithoutStorage = true,
        // The upgrade from the old job queue may run while workers start: wait for the schema rather than fail.
        DistributedLockTimeout = TimeSpan.FromMinutes(1),
    });

    public void Dispose() => DataSource.Dispose();
}
