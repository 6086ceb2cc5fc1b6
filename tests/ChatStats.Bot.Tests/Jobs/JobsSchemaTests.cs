using ChatStats.Bot.Data;
using ChatStats.Bot.Jobs;
using ChatStats.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatStats.Bot.Tests.Jobs;

/// <summary>
/// Hangfire's tables on a database that has none yet (migrated with <c>dotnet ef database update</c>, which does not
/// create them), with the bot, web and worker roles starting at the same moment, as supervisor starts them.
/// </summary>
public sealed class JobsSchemaTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task RolesStartingTogetherOnAFreshDatabaseInstallHangfiresSchemaOnceWithoutAnError()
    {
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'hangfire'"));
        var options = new JobsOptions();
        var sources = Enumerable.Range(0, 4)
            .Select(_ => JobsDataSource.Create(new DatabaseOptions { ConnectionString = _db.ConnectionString }, options, NullLoggerFactory.Instance))
            .ToList();
        try
        {
            // Each role its own data source, as each role is its own process; all released at once.
            using var start = new ManualResetEventSlim();
            var roles = sources.Select(source => Task.Run(() =>
            {
                start.Wait();
                JobsSchema.Install(source);
            })).ToList();
            start.Set();

            await Task.WhenAll(roles);

            var latest = await _db.ScalarAsync<int>("SELECT version FROM hangfire.schema");
            Assert.True(latest >= 23, $"schema version {latest}");
            Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM hangfire.schema"));
        }
        finally
        {
            sources.ForEach(s => s.Dispose());
        }
    }
}
