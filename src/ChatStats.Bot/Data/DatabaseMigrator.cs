using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ChatStats.Bot.Data;

internal sealed record MigrationStatus(IReadOnlyList<string> Applied, IReadOnlyList<string> Pending);

/// <summary>Applies and inspects the EF Core migrations; what <c>chatstats migrate</c>, doctor and /health/ready use.</summary>
internal sealed class DatabaseMigrator(IServiceScopeFactory scopes, ILogger<DatabaseMigrator> logger)
{
    public async Task<MigrationStatus> GetStatusAsync(CancellationToken ct)
    {
        EnsureMigrationsAssembly();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatStatsDbContext>();
        // Asking EF for applied migrations on a database without its history table logs an error; check first.
        var dataSource = scope.ServiceProvider.GetRequiredService<NpgsqlDataSource>();
        await using var probe = dataSource.CreateCommand("SELECT to_regclass('__ef_migrations_history') IS NOT NULL");
        if (await probe.ExecuteScalarAsync(ct) is not true)
        {
            return new MigrationStatus([], [.. db.Database.GetMigrations()]);
        }
        var applied = (await db.Database.GetAppliedMigrationsAsync(ct)).ToList();
        var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
        return new MigrationStatus(applied, pending);
    }

    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct)
    {
        EnsureMigrationsAssembly();
        var pending = (await GetStatusAsync(ct)).Pending;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatStatsDbContext>();
        if (pending.Count == 0)
        {
            logger.LogInformation("Database schema is up to date");
            return pending;
        }
        logger.LogInformation("Applying {Count} migrations: {Migrations}", pending.Count, string.Join(", ", pending));
        // Several roles may start at once under systemd; EF takes a database lock, so only one applies them.
        await db.Database.MigrateAsync(ct);
        // Types created by a migration (none yet) must be visible to pooled connections opened before it.
        var dataSource = scope.ServiceProvider.GetRequiredService<NpgsqlDataSource>();
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            await connection.ReloadTypesAsync(ct);
        }
        return pending;
    }

    private static void EnsureMigrationsAssembly()
    {
        if (!DatabaseExtensions.MigrationsAssemblyPresent())
        {
            throw new InvalidOperationException(
                $"{DatabaseExtensions.MigrationsAssembly}.dll is not next to chatstats.dll. Build the whole solution (dotnet build ChatStats.sln) or use deploy/dev.sh.");
        }
    }
}
