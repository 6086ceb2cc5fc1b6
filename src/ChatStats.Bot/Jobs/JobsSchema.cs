using ChatStats.Bot.Data;
using Hangfire.PostgreSql;
using Npgsql;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// Hangfire's tables in schema <c>hangfire</c>: installed or upgraded by <c>chatstats migrate</c>, and by every role before
/// its storage starts (a database migrated with <c>dotnet ef database update</c> has none yet).
/// <para>
/// Hangfire.PostgreSql's installer takes no lock of its own. Two roles installing at once (supervisor starts them
/// together) both pass a version's check, and the later one fails on DDL the first has just run ("column updatecount of
/// relation counter does not exist"), leaving its storage uninitialised until its first use. So every installer here
/// takes its turn on one session advisory lock; those after the first find every version applied and change nothing.
/// </para>
/// </summary>
internal static class JobsSchema
{
    private const string LockName = "chatstats:hangfire-schema";

    /// <summary>Installs or upgrades the schema, waiting for any other installer first; throws what the database said.</summary>
    public static void Install(JobsDataSource dataSource)
    {
        using var connection = dataSource.DataSource.OpenConnection();
        using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended(@lock, 0))", connection).With("lock", LockName))
        {
            take.ExecuteNonQuery();
        }
        try
        {
            PostgreSqlObjectsInstaller.Install(connection, JobsOptions.Schema);
        }
        finally
        {
            // A broken session has let go of the lock with itself.
            if (connection.State == System.Data.ConnectionState.Open)
            {
                using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended(@lock, 0))", connection).With("lock", LockName);
                release.ExecuteNonQuery();
            }
        }
    }

    /// <summary>
    /// <see cref="Install"/>, or false when the database could not be reached or refused: the caller then leaves the
    /// installation to the storage, which retries it at its first use (and says why it failed in the log).
    /// </summary>
    public static bool TryInstall(JobsDataSource dataSource)
    {
        try
        {
            Install(dataSource);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}
