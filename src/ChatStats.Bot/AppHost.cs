using ChatStats.Bot.Commands;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Jobs;
using ChatStats.Bot.Scaling;
using ChatStats.Bot.Stats;
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

    /// <summary>
    /// A CLI verb's host (<c>migrate</c>, <c>stats</c>, <c>report</c>, <c>import</c>, <c>tier</c>): configuration, the
    /// database, the limits, the statistics and reports, Hangfire's client. Never started: a verb resolves what it uses.
    /// </summary>
    public static IHost BuildTool(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = CreateToolBuilder(args, overrides);
        builder.AddDatabase();
        builder.AddStatistics();
        builder.AddJobs(workers: false);
        // What import keeps of the texts it reads (the bot role has it through AddIngest, which a verb does not start).
        builder.Services.AddValidatedOptions<PrivacyOptions>(PrivacyOptions.Section);
        return builder.Build();
    }

    /// <summary>
    /// <c>doctor</c>'s host: the services of every role, registered by the roles' own calls and never started, so that it
    /// checks every section and client exactly as the roles would read them.
    /// </summary>
    public static IHost BuildForChecks(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = CreateToolBuilder(args, overrides);
        AddRoles(builder, new RoleSet(Bot: true, Web: false, Worker: true));
        builder.AddWebOptions();
        return builder.Build();
    }

    private static HostApplicationBuilder CreateToolBuilder(string[] args, IReadOnlyDictionary<string, string?>? overrides)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        Configure(builder, overrides);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A verb's output is its stdout (chatstats stats --format json | jq): what it logs (a slow query, say) goes to stderr.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        return builder;
    }

    private static void AddCommon(IHostApplicationBuilder builder, RoleSet roles, IReadOnlyDictionary<string, string?>? overrides)
    {
        Configure(builder, overrides);
        AddRoles(builder, roles);
    }

    /// <summary>Each role's services: what every role shares, then the bot's and the workers' own.</summary>
    private static void AddRoles(IHostApplicationBuilder builder, RoleSet roles)
    {
        builder.Services.AddSingleton(roles);
        builder.AddMetrics(roles);
        builder.AddDatabase();
        builder.Services.AddHostedService<InstanceHeartbeat>();
        builder.AddCapacity();
        builder.AddLimits();
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
