using Hangfire.PostgreSql;

namespace ChatStats.Bot.Jobs;

/// <summary>Hangfire's tables in schema <c>hangfire</c>: installed or upgraded by <c>chatstats migrate</c> (and by the first start).</summary>
internal static class JobsSchema
{
    public static async Task InstallAsync(JobsDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.DataSource.OpenConnectionAsync(ct);
        // Takes an advisory lock itself: roles starting together install it once.
        PostgreSqlObjectsInstaller.Install(connection, JobsOptions.Schema);
    }
}
