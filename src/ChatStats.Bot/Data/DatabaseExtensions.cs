using System.Reflection;
using System.Runtime.Loader;
using ChatStats.Bot.Configuration;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Data;

internal static class DatabaseExtensions
{
    public const string MigrationsAssembly = "ChatStats.Migrations";

    /// <summary>The key of recording's own <see cref="NpgsqlDataSource"/> (<see cref="DatabaseOptions.IngestPoolSize"/>).</summary>
    public const string IngestPool = "chatstats-ingest";

    /// <summary>
    /// Registers the bounded <see cref="NpgsqlDataSource"/> and the EF Core context that shares it, and recording's own
    /// small pool (keyed <see cref="IngestPool"/>), so answers that hold every connection cannot make recording wait;
    /// and the migrator that brings the schema up to date.
    /// </summary>
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DatabaseOptions>(DatabaseOptions.Section);
        builder.Services.AddSingleton(sp => Build(sp, "chatstats", o => o.MaxPoolSize));
        builder.Services.AddKeyedSingleton(IngestPool, (sp, _) => Build(sp, IngestPool, o => o.IngestPoolSize));
        builder.Services.AddSingleton<QueryTimer>();
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddDbContext<ChatStatsDbContext>((sp, options) => Configure(options, sp.GetRequiredService<NpgsqlDataSource>()));
        return builder;
    }

    private static NpgsqlDataSource Build(IServiceProvider sp, string name, Func<DatabaseOptions, int> poolSize)
    {
        var options = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var connectionString = new NpgsqlConnectionStringBuilder(options.BuildConnectionString(name, poolSize(options)));
        if (name == IngestPool && connectionString.ApplicationName != IngestPool)
        {
            // An operator's own application name still tells the two pools apart in pg_stat_activity.
            connectionString.ApplicationName += "-ingest";
        }
        var dataSource = new NpgsqlDataSourceBuilder(connectionString.ConnectionString)
        {
            // Metrics are labelled with the pool's name; without one Npgsql uses the connection string.
            Name = name,
        };
        dataSource.UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
        return dataSource.Build();
    }

    public static void Configure(DbContextOptionsBuilder options, NpgsqlDataSource dataSource) =>
        options.UseNpgsql(dataSource, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly).MigrationsHistoryTable("__ef_migrations_history"));

    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly).MigrationsHistoryTable("__ef_migrations_history"));

    /// <summary>
    /// The migrations assembly references this one, so it cannot be a compile-time reference of ours; the build copies it
    /// next to chatstats.dll and we load it from there when EF asks for it.
    /// </summary>
    public static void ResolveMigrationsAssembly()
    {
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            if (name.Name != MigrationsAssembly)
            {
                return null;
            }
            var path = Path.Combine(AppContext.BaseDirectory, MigrationsAssembly + ".dll");
            return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
        };
    }

    public static bool MigrationsAssemblyPresent()
    {
        try
        {
            Assembly.Load(new AssemblyName(MigrationsAssembly));
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }
}
