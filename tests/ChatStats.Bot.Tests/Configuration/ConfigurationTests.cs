using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Scaling;
using ChatStats.Bot.Telegram;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Tests.Configuration;

public sealed class ConfigurationTests
{
    [Fact]
    public void DatabaseUrlBecomesAnNpgsqlConnectionString()
    {
        Assert.True(DatabaseUrl.TryToConnectionString("postgres://bot:p%40ss@db.example:6432/stats?sslmode=require", out var cs, out _));

        var b = new Npgsql.NpgsqlConnectionStringBuilder(cs);
        Assert.Equal(("bot", "p@ss", "db.example", 6432, "stats", Npgsql.SslMode.Require), (b.Username, b.Password, b.Host, b.Port, b.Database, b.SslMode));
    }

    [Theory]
    [InlineData("mysql://x@y/z", "expected postgres://")]
    [InlineData("postgres://x@y:5432/", "names no database")]
    [InlineData("postgres://x@y/db?sslmode=sometimes", "unknown sslmode")]
    public void ABadDatabaseUrlSaysWhatIsWrong(string url, string expected)
    {
        Assert.False(DatabaseUrl.TryToConnectionString(url, out _, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void ThePoolBoundsAreAppliedOnTopOfTheConnectionString()
    {
        var options = new DatabaseOptions { ConnectionString = "Host=h;Database=d;Maximum Pool Size=500", MaxPoolSize = 10 };

        var b = new Npgsql.NpgsqlConnectionStringBuilder(options.BuildConnectionString());

        Assert.Equal((10, 30, 3600), (b.MaxPoolSize, b.Timeout, b.ConnectionLifetime));
    }

    [Theory]
    [InlineData(null, "-c jit=off -c max_parallel_workers_per_gather=0")]
    [InlineData("-c search_path=stats", "-c search_path=stats -c jit=off -c max_parallel_workers_per_gather=0")]
    [InlineData("-c jit=on", "-c jit=on -c max_parallel_workers_per_gather=0")]
    [InlineData("--max-parallel-workers-per-gather=2 -cjit=on", "--max-parallel-workers-per-gather=2 -cjit=on")]
    public void SessionDefaultsAreAddedUnlessTheConnectionStringSetsThem(string? own, string expected)
    {
        var options = new DatabaseOptions { ConnectionString = own is null ? "Host=h;Database=d" : $"Host=h;Database=d;Options='{own}'" };

        Assert.Equal(expected, new Npgsql.NpgsqlConnectionStringBuilder(options.BuildConnectionString()).Options);
    }

    [Fact]
    public void EnvironmentAliasesMapToKeysAndExplicitKeysWin()
    {
        var env = new Dictionary<string, string>
        {
            ["TELEGRAM_BOT_TOKEN"] = "1:alias",
            ["TELEGRAM_API_BASE_URL"] = "http://127.0.0.1:9",
            ["DATABASE_URL"] = "postgres://u@h:5433/d",
        };
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Telegram:BotToken"] = "1:file" });
        configuration.AddEnvironmentAliases(name => env.GetValueOrDefault(name));
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Telegram:ApiBaseUrl"] = "http://explicit" });

        Assert.Equal("1:alias", configuration["Telegram:BotToken"]);
        Assert.Equal("http://explicit", configuration["Telegram:ApiBaseUrl"]);
        Assert.Contains("Port=5433", configuration["Database:ConnectionString"]);
    }

    [Fact]
    public void AMissingTokenFailsStartUpNamingTheKeyAndWhereToGetOne()
    {
        var failures = Validate<TelegramOptions>(TelegramOptions.Section, new() { ["Telegram:BotToken"] = "" });

        var line = Assert.Single(failures);
        Assert.StartsWith("Telegram:BotToken:", line);
        Assert.Contains("@BotFather", line);
    }

    [Theory]
    [InlineData("Database:MaxPoolSize", "0", "Database:MaxPoolSize: must be between 1 and 500")]
    [InlineData("Database:ConnectionTimeoutSeconds", "-1", "Database:ConnectionTimeoutSeconds: must be between 1 and 600")]
    public void ImpossibleDatabaseValuesAreNamed(string key, string value, string expected)
    {
        var failures = Validate<DatabaseOptions>(DatabaseOptions.Section, new() { ["Database:ConnectionString"] = "Host=h;Database=d", [key] = value });

        Assert.StartsWith(expected, Assert.Single(failures));
    }

    [Fact]
    public void AMalformedDatabaseUrlIsReportedAgainstTheConnectionString()
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentAliases(name => name == "DATABASE_URL" ? "postgres://nodb" : null);

        var failures = Validate<DatabaseOptions>(DatabaseOptions.Section, new(), configuration);

        Assert.Contains(failures, f => f.StartsWith("Database:ConnectionString: invalid DATABASE_URL", StringComparison.Ordinal));
    }

    [Fact]
    public void RedisUrlBecomesAStackExchangeRedisConfiguration()
    {
        Assert.True(RedisUrl.TryToConfiguration("rediss://stats:p%40ss@cache.example:6380/2", out var configuration, out _));

        var parsed = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
        Assert.Equal("cache.example:6380", Named(Assert.Single(parsed.EndPoints)));
        Assert.Equal(("stats", "p@ss", true, 2), (parsed.User, parsed.Password, parsed.Ssl, parsed.DefaultDatabase));

        // The form before ACLs: a password alone, and the default port.
        Assert.True(RedisUrl.TryToConfiguration("redis://:secret@10.0.0.5", out configuration, out _));
        parsed = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
        Assert.Equal(("10.0.0.5:6379", null, "secret"), (Named(Assert.Single(parsed.EndPoints)), parsed.User, parsed.Password));
    }

    private static string Named(System.Net.EndPoint endpoint) => endpoint switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString()!,
    };

    [Theory]
    [InlineData("http://cache:6379", "expected redis://")]
    [InlineData("redis://cache:6379/16", "not a number from 0 to 15")]
    [InlineData("redis://cache:6379/x", "not a number from 0 to 15")]
    public void ABadRedisUrlSaysWhatIsWrong(string url, string expected)
    {
        Assert.False(RedisUrl.TryToConfiguration(url, out _, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void AMalformedRedisUrlIsReportedAgainstTheConnectionStringAndAnExplicitKeyWins()
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentAliases(name => name == "REDIS_URL" ? "redis://cache:6379/99" : null);

        var failures = Validate<RedisOptions>(RedisOptions.Section, new(), configuration);

        Assert.Contains(failures, f => f.StartsWith("Redis:ConnectionString: invalid REDIS_URL: the database '99'", StringComparison.Ordinal));

        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Redis:ConnectionString"] = "127.0.0.1:6390" });
        Assert.Empty(Validate<RedisOptions>(RedisOptions.Section, new(), configuration));
    }

    [Theory]
    [InlineData("Redis:KeyPrefix", "chat stats", "Redis:KeyPrefix: must be 1 to 64 letters")]
    [InlineData("Redis:OperationTimeoutMs", "10", "Redis:OperationTimeoutMs: must be between 50 and 5000")]
    public void ImpossibleRedisValuesAreNamed(string key, string value, string expected)
    {
        var failures = Validate<RedisOptions>(RedisOptions.Section, new() { ["Redis:ConnectionString"] = "127.0.0.1:6379", [key] = value });

        Assert.StartsWith(expected, Assert.Single(failures));
    }

    [Fact]
    public void WithoutRedisNothingIsRequired() =>
        Assert.Empty(Validate<RedisOptions>(RedisOptions.Section, new()));

    [Fact]
    public void TheSeedsLimitNamesMapOntoTheLimitsSection()
    {
        var env = new Dictionary<string, string>
        {
            ["LIMITS_ENABLED"] = "false",
            ["LIMITS_MAX_CONCURRENT_PER_USER"] = "5",
            ["LIMITS_MAX_QUEUE_SIZE_PER_USER"] = "20",
            ["LIMITS_MAX_CONCURRENT_GLOBAL"] = "200",
            ["LIMITS_MAX_QUEUE_SIZE_GLOBAL"] = "800",
            ["LIMITS_RETRY_AFTER_SECONDS"] = "10",
            ["LIMITS_QUEUE_TIMEOUT_SECONDS"] = "12.5",
            ["LIMITS_OVERLOAD_POLICY"] = "drop_oldest",
            ["AI_SEMAPHORE_LIMIT"] = "4",
            ["PDF_SEMAPHORE_LIMIT"] = "2",
            ["MAX_CONCURRENT_REQUESTS"] = "150",
            ["SECURITY_RATE_LIMIT_PER_MINUTE"] = "60",
            ["LIMITS_MAX_ACTIVE_CHATS"] = "50",
        };
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentAliases(name => env.GetValueOrDefault(name));
        var limits = configuration.GetSection("Limits").Get<ChatStats.Bot.Throttling.LimitsOptions>()!;

        Assert.False(limits.Enabled);
        Assert.Equal((5, 20, 200, 800, 10, 12.5, 4, 2), (limits.MaxConcurrentPerUser, limits.MaxQueueSizePerUser, limits.MaxConcurrentGlobal,
            limits.MaxQueueSizeGlobal, limits.RetryAfterSeconds, limits.QueueTimeoutSeconds, limits.AiConcurrency, limits.PdfConcurrency));
        Assert.Equal(ChatStats.Throttling.Concurrency.OverloadPolicy.DropOldest, limits.ResourceLimiter.Policy);
        Assert.Equal("150", configuration["Ingest:MaxConcurrentUpdates"]);
        Assert.Equal(50, limits.MaxActiveChats);
        Assert.Equal(60, configuration.GetSection("Web").Get<ChatStats.Bot.Web.WebOptions>()!.AnonymousPerMinute);
    }

    [Theory]
    [InlineData("Limits:OverloadPolicy", "sometimes", "Limits:OverloadPolicy: 'sometimes' is not a policy; use drop_newest, drop_oldest or block")]
    [InlineData("Limits:CommandWindowSeconds", "0", "Limits:CommandWindowSeconds: must be between 1 and 86400 seconds")]
    [InlineData("Limits:MaxConcurrentPerUser", "-1", "Limits:MaxConcurrentPerUser: must be between 1 and 1000")]
    [InlineData("Limits:Tiers:FREE:Burst", "0", "Limits:Tiers:FREE:Burst: must be at least 1")]
    [InlineData("Limits:DefaultTier", "GOLD", "Limits:DefaultTier: 'GOLD' is not one of the tiers")]
    [InlineData("Limits:MaxActiveChats", "-5", "Limits:MaxActiveChats: must be between 0 (no cap) and 1000000")]
    [InlineData("Limits:DailyHeavyQuota", "-1", "Limits:DailyHeavyQuota: must be between 0 (no quota) and 100000")]
    [InlineData("Limits:LoadShedding:CriticalCpuPercent", "50", "Limits:LoadShedding:CriticalCpuPercent: CPU marks must be in (0, 100]")]
    public void ImpossibleLimitsStopStartUpNamingTheKey(string key, string value, string expected)
    {
        var failures = Validate<ChatStats.Bot.Throttling.LimitsOptions>("Limits", new() { [key] = value });

        Assert.StartsWith(expected, Assert.Single(failures));
    }

    [Theory]
    [InlineData(2, 50)]
    [InlineData(4, 150)]
    [InlineData(8, 300)]
    [InlineData(16, 500)]
    [InlineData(1, 20)]
    [InlineData(64, 2000)]
    public void DoctorRecommendsActiveChatsFromTheGuidesMemoryTable(int gigabytes, int recommended) =>
        Assert.Equal(recommended, ChatStats.Bot.Cli.DoctorCommand.RecommendedMaxActiveChats(gigabytes * 1024L * 1024 * 1024));

    [Fact]
    public void ListeningBeyondLoopbackRequiresAnAdminToken()
    {
        var failures = Validate<ChatStats.Bot.Web.WebOptions>(ChatStats.Bot.Web.WebOptions.Section, new() { ["Web:Urls"] = "http://0.0.0.0:8080" });

        Assert.Contains("Web:AdminToken", Assert.Single(failures));
        Assert.Empty(Validate<ChatStats.Bot.Web.WebOptions>(ChatStats.Bot.Web.WebOptions.Section, new() { ["Web:Urls"] = "http://127.0.0.1:8080" }));
    }

    private static IReadOnlyList<string> Validate<T>(string section, Dictionary<string, string?> values, ConfigurationManager? configuration = null) where T : class
    {
        configuration ??= new ConfigurationManager();
        configuration.AddInMemoryCollection(values);
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddValidatedOptions<T>(section);
        using var provider = services.BuildServiceProvider();
        try
        {
            _ = provider.GetRequiredService<IOptions<T>>().Value;
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return [.. ex.Failures];
        }
    }
}
