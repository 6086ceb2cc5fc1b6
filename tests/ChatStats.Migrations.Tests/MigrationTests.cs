using System.Diagnostics;
using ChatStats.Testing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ChatStats.Migrations.Tests;

public sealed class MigrationTests
{
    private static readonly string[] Tables =
        ["chat_daily_usage", "chat_hourly", "chat_member_prefs", "chat_member_word_days", "chat_member_words", "chat_summary_state", "chat_title_history", "chat_user_hourly", "chat_user_totals", "chat_user_totals_pending", "chat_word_daily", "chat_word_days", "chat_words", "chat_words_pending", "chats", "data_protection_keys", "dead_letters", "forgotten_members", "handled_updates",
         "instances", "messages", "report_requests", "service_events", "update_inbox", "user_name_history", "users"];

    [Fact]
    public void TheModelHasNoChangesMissingFromTheMigrations()
    {
        using var db = PostgresServer.CreateContext("Host=127.0.0.1;Database=unused");

        Assert.False(db.Database.HasPendingModelChanges(), "the model changed: run dotnet ef migrations add <Name> --project migrations/ChatStats.Migrations");
    }

    [Fact]
    public async Task MigrationsBuildTheWholeSchemaOnAnEmptyDatabase()
    {
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("m_empty");
        try
        {
            await using (var db = PostgresServer.CreateContext(cs))
            {
                await db.Database.MigrateAsync();
            }

            Assert.Equal(Tables, await ListTablesAsync(cs));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task TheDesignTimeFactoryReadsDatabaseUrlLikeTheBot()
    {
        var b = new NpgsqlConnectionStringBuilder(PostgresServer.AdminConnectionString);
        var url = $"postgres://{b.Username}@{b.Host}:{b.Port}/from_url";

        await using var db = DesignTimeDbContextFactory.Create(name => name == "DATABASE_URL" ? url : null, addEnvironment: false);
        var resolved = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());

        Assert.Equal(("from_url", b.Port, 10), (resolved.Database, resolved.Port, resolved.MaxPoolSize));
    }

    [Fact]
    public async Task DotnetEfDatabaseUpdateWorksFromTheRepositoryRoot()
    {
        var cs = await PostgresServer.CreateEmptyDatabaseAsync("m_ef");
        try
        {
            var root = Tools.RepositoryRoot;
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var start = new ProcessStartInfo("dotnet", ["ef", "database", "update", "--project", "migrations/ChatStats.Migrations", "--no-build", "--configuration", configuration])
            {
                WorkingDirectory = root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment.Remove("DATABASE_URL");
            start.Environment["Database__ConnectionString"] = cs;
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.True(process.ExitCode == 0, output + error);
            Assert.Equal(Tables, await ListTablesAsync(cs));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    private static async Task<string[]> ListTablesAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT CASE schemaname WHEN 'public' THEN '' ELSE schemaname || '.' END || tablename AS t FROM pg_tables WHERE schemaname IN ('public', 'jobs', 'hangfire') AND tablename NOT LIKE '\\_\\_%' ORDER BY replace(CASE schemaname WHEN 'public' THEN '' ELSE schemaname || '.' END || tablename, '.', '')", connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }
        return [.. tables];
    }
}
