using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Configuration;

namespace ChatStats.Migrations;

/// <summary>
/// Lets <c>dotnet ef</c> build the context from the same configuration the bot reads: appsettings.json at the
/// repository root, then DATABASE_URL and <c>Database__ConnectionString</c> from the environment.
/// </summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<ChatStatsDbContext>
{
    public ChatStatsDbContext CreateDbContext(string[] args) => Create(Environment.GetEnvironmentVariable, addEnvironment: true);

    internal static ChatStatsDbContext Create(Func<string, string?> getEnvironmentVariable, bool addEnvironment)
    {
        var configuration = new ConfigurationManager();
        var settings = FindSettings();
        if (settings is not null)
        {
            configuration.AddJsonFile(settings, optional: false);
        }
        configuration.AddEnvironmentAliases(getEnvironmentVariable);
        if (addEnvironment)
        {
            configuration.AddEnvironmentVariables();
        }
        var options = new DatabaseOptions();
        configuration.GetSection(DatabaseOptions.Section).Bind(options);
        var builder = new DbContextOptionsBuilder<ChatStatsDbContext>();
        DatabaseExtensions.Configure(builder, options.BuildConnectionString("chatstats-ef"));
        return new ChatStatsDbContext(builder.Options);
    }

    private static string? FindSettings()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "appsettings.json");
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "ChatStats.sln")))
            {
                return candidate;
            }
        }
        var beside = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        return File.Exists(beside) ? beside : null;
    }
}
