using ChatStats.Bot.Commands;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Jobs;
using ChatStats.Bot.Scaling;
using ChatStats.Bot.Telegram;
using ChatStats.Bot.Throttling;
using ChatStats.Bot.Web;

namespace ChatStats.Bot;

/// <summary>Builds the process for a set of roles: the table of contents of the application.</summary>
internal static class AppHost
{
    public static IHost Build(RoleSet roles, string[] args, IReadOnlyDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null)
    {
        if (roles.Web)
        {
            var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
            AddCommon(web, roles, overrides);
            web.AddWeb();
            web.AddAdmin();
            web.AddApi();
            var webhook = web.Configuration.UsesWebhook();
            if (webhook)
            {
                web.AddWebhook();
            }
            services?.Invoke(web.Services);
            var app = web.Build();
            app.UseBadRequestAnswers();
            app.UseAdmin();
            if (webhook)
            {
                app.MapWebhook();
            }
            app.MapApi();
            app.MapAdmin();
            app.MapHealthAndMetrics();
            return app;
        }
        var host = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        AddCommon(host, roles, overrides);
        services?.Invoke(host.Services);
        return host.Build();
    }

    /// <summary>Configuration and database only: what <c>migrate</c>, <c>stats</c> and <c>doctor</c> need.</summary>
    public static IHost BuildTool(string[] args, IReadOnlyDictionary<string, string?>? overrides = null, bool telegram = false)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        Configure(builder, overrides);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A verb's output is its stdout (chatstats stats --format json | jq): what it logs (a slow query, say) goes to stderr.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.AddDatabase();
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddSingleton<Stats.StatsQueries>();
        builder.Services.AddSingleton<Stats.WordQueries>();
        builder.Services.AddSingleton<Charts.ChartRenderer>();
        builder.Services.AddSingleton<Reports.ReportBuilder>();
        builder.Services.AddSingleton<Reports.PdfRenderer>();
        builder.Services.AddSingleton<Throttling.CommandLimiters>();
        // Registered so that doctor can validate every section, not only the ones this verb uses.
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddValidatedOptions<PrivacyOptions>(PrivacyOptions.Section);
        builder.Services.AddValidatedOptions<WebOptions>(WebOptions.Section);
        builder.Services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        builder.Services.AddValidatedOptions<RedisOptions>(RedisOptions.Section);
        builder.Services.AddSingleton<ChatTiers>();
        builder.Services.AddValidatedOptions<Summaries.AiOptions>(Summaries.AiOptions.Section);
        Summaries.AiClient.Register(builder.Services);
        builder.AddJobs(workers: false);
        if (telegram)
        {
            builder.AddTelegram();
        }
        return builder.Build();
    }

    private static void AddCommon(IHostApplicationBuilder builder, RoleSet roles, IReadOnlyDictionary<string, string?>? overrides)
    {
        Configure(builder, overrides);
        builder.Services.AddSingleton(roles);
        builder.AddMetrics(roles);
        builder.AddDatabase();
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddHostedService<InstanceHeartbeat>();
        builder.AddCapacity();
        builder.Services.AddSingleton<ChatTiers>();
        builder.AddJobs(workers: roles.Worker);
        if (roles.Bot || roles.Worker)
        {
            // The web role stays up on an old schema and says so on /health/ready; the bot and workers must not write into one.
            builder.Services.AddHostedService<SchemaCheck>();
            builder.AddSharedLimits();
            builder.AddTelegram();
            builder.AddThrottling();
            builder.AddCommands();
        }
        if (roles.Bot)
        {
            builder.AddIngest();
            builder.AddReceiving();
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
    }

    private static void Configure(IHostApplicationBuilder builder, IReadOnlyDictionary<string, string?>? overrides)
    {
        builder.Configuration.AddEnvironmentAliases();
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }
        builder.Services.AddSingleton(TimeProvider.System);
    }
}
