using System.Security.Cryptography;
using System.Text;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Xunit;

namespace ChatStats.Testing;

/// <summary>
/// The PostgreSQL server deploy/dev.sh test started (CHATSTATS_TEST_DATABASE_URL). A migrated template database is made
/// once per migration set; each test class gets its own copy of it, which takes a few hundred milliseconds.
/// </summary>
public static class PostgresServer
{
    public const string UrlVariable = "CHATSTATS_TEST_DATABASE_URL";
    private static readonly SemaphoreSlim TemplateLock = new(1, 1);
    private static string? _template;

    public static string AdminConnectionString
    {
        get
        {
            var url = Environment.GetEnvironmentVariable(UrlVariable) ?? Environment.GetEnvironmentVariable("DATABASE_URL")
                ?? throw new InvalidOperationException($"{UrlVariable} is not set: run the tests with deploy/dev.sh test, which starts PostgreSQL.");
            if (!url.StartsWith("postgres", StringComparison.Ordinal))
            {
                return url;
            }
            if (!DatabaseUrl.TryToConnectionString(url, out var cs, out var error))
            {
                throw new InvalidOperationException($"{UrlVariable}: {error}");
            }
            return new NpgsqlConnectionStringBuilder(cs) { Pooling = false, Database = "postgres" }.ConnectionString;
        }
    }

    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var template = await EnsureTemplateAsync();
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid():N}"[..Math.Min(63, Sanitize(prefix).Length + 33)];
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        // PostgreSQL refuses to copy a template another session is copying: test processes take turns.
        await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext('chatstats-template-copy'))", admin))
        {
            await lockCmd.ExecuteNonQueryAsync();
        }
        try
        {
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext('chatstats-template-copy'))", admin);
            await unlock.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>A database with no tables at all, for migration tests.</summary>
    public static async Task<string> CreateEmptyDatabaseAsync(string prefix)
    {
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid():N}";
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
        await cmd.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<string> EnsureTemplateAsync()
    {
        await TemplateLock.WaitAsync();
        try
        {
            if (_template is not null)
            {
                return _template;
            }
            // Keyed by the migrations and the builds of the assemblies their SQL comes from (deterministic builds: the
            // same source, the same id), so a migration edited before it is released gets a fresh template.
            var migrations = MigrationIds()
                .Append(typeof(ChatStats.Bot.Data.ChatStatsDbContext).Assembly.ManifestModule.ModuleVersionId.ToString())
                .Append(typeof(ChatStats.Migrations.Migrations.WordRollup).Assembly.ManifestModule.ModuleVersionId.ToString());
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(",", migrations))))[..12];
            var template = $"chatstats_template_{hash}";
            await using var admin = new NpgsqlConnection(AdminConnectionString);
            await admin.OpenAsync();
            // Test assemblies run in parallel processes: one makes the template, the others wait for it.
            await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext('chatstats-template'))", admin))
            {
                await lockCmd.ExecuteNonQueryAsync();
            }
            await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", admin) { Parameters = { new() { Value = template } } })
            {
                if (await exists.ExecuteScalarAsync() is null)
                {
                    await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)", admin))
                    {
                        await drop.ExecuteNonQueryAsync();
                    }
                    await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{template}\"", admin))
                    {
                        await create.ExecuteNonQueryAsync();
                    }
                    var cs = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = template, Pooling = false }.ConnectionString;
                    await using (var db = CreateContext(cs))
                    {
                        await db.Database.MigrateAsync();
                    }
                    await using var mark = new NpgsqlCommand($"ALTER DATABASE \"{template}\" WITH IS_TEMPLATE true", admin);
                    await mark.ExecuteNonQueryAsync();
                }
            }
            await using (var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext('chatstats-template'))", admin))
            {
                await unlock.ExecuteNonQueryAsync();
            }
            _template = template;
            return template;
        }
        finally
        {
            TemplateLock.Release();
        }
    }

    internal static ChatStatsDbContext CreateContext(string connectionString)
    {
        var options = new DbContextOptionsBuilder<ChatStatsDbContext>();
        DatabaseExtensions.Configure(options, connectionString);
        return new ChatStatsDbContext(options.Options);
    }

    /// <summary>The migrations this build knows, oldest first.</summary>
    public static IReadOnlyList<string> MigrationIds()
    {
        using var db = CreateContext("Host=127.0.0.1;Database=unused");
        return db.Database.GetMigrations().ToList();
    }

    private static string Sanitize(string prefix)
    {
        var clean = new string(prefix.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        return clean.Length > 28 ? clean[..28] : clean;
    }
}

/// <summary>A fresh, migrated database for one test class, dropped afterwards.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresServer.CreateDatabaseAsync("t");
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(ConnectionString);
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        foreach (var p in parameters)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = p });
        }
        var value = await cmd.ExecuteScalarAsync();
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        foreach (var p in parameters)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = p });
        }
        await cmd.ExecuteNonQueryAsync();
    }

    internal ChatStatsDbContext CreateContext() => PostgresServer.CreateContext(ConnectionString);
}
