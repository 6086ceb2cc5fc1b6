using System.Diagnostics.Metrics;
using ChatStats.Bot.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatStats.Bot.Throttling;

internal static class ThrottlingExtensions
{
    /// <summary>The limits in front of every handler (the commands' guard applies them), the work gates, and the admin lookup admin-only commands need.</summary>
    public static IHostApplicationBuilder AddThrottling(this IHostApplicationBuilder builder)
    {
        builder.AddLimits();
        builder.Services.AddHostedService<LimitsMetrics>();
        builder.Services.AddSingleton<ChatAdmins>();
        builder.Services.AddSingleton<DailyQuota>();
        builder.Services.AddSingleton<Web.LimitsReporter>();
        builder.Services.AddSingleton<Scaling.IInstanceDetails>(sp => sp.GetRequiredService<Web.LimitsReporter>());
        builder.Services.AddSingleton(sp => new ChatStats.Throttling.LoadShedding.LoadMonitor(
            "process", sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<LimitsOptions>>().Value.LoadSheddingOptions, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService<LoadSheddingService>();
        return builder;
    }

    /// <summary>
    /// The limits' settings, the limiters and work gates they build, and the chats' tiers: what every role reads (the web
    /// role shows and sets tiers, the PDF gate caps the <c>report</c> verb too). Safe to ask for more than once.
    /// </summary>
    public static IHostApplicationBuilder AddLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        builder.Services.TryAddSingleton<CommandLimiters>();
        builder.Services.TryAddSingleton<ChatTiers>();
        return builder;
    }

    /// <summary>What every role needs to answer about capacity: the monitor and its 30-second measurement.</summary>
    public static IHostApplicationBuilder AddCapacity(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        builder.Services.AddSingleton<CapacityMonitor>();
        builder.Services.AddHostedService<CapacityService>();
        return builder;
    }
}

/// <summary>Gauges of the limits, the gates and the sender, registered when the bot starts so they show from the first scrape.</summary>
internal sealed class LimitsMetrics(CommandLimiters limiters, ChatStats.Telegram.Sending.MessageSender sender, IMeterFactory meters) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var meter = meters.Create("ChatStats.Bot.Limits");
        meter.CreateObservableGauge("chatstats.limits.running", () => limiters.Resources.GetStats().GlobalConcurrent, "{command}", "Commands holding a concurrency slot.");
        meter.CreateObservableGauge("chatstats.limits.queued", () => limiters.Resources.GetStats().GlobalQueued, "{command}", "Commands waiting for a concurrency slot.");
        meter.CreateObservableGauge("chatstats.gates.running", () => GateLoad(g => g.Running), "{job}", "Work running inside each gate.");
        meter.CreateObservableGauge("chatstats.gates.waiting", () => GateLoad(g => g.Waiting), "{job}", "Work waiting at each gate.");
        meter.CreateObservableGauge("chatstats.gates.capacity", () => GateLoad(g => g.Capacity), "{job}", "Each gate's current capacity.");
        meter.CreateObservableGauge("chatstats.sender.waiting", () => sender.Waiting, "{message}", "Sends waiting for Telegram's limits or a flood wait.");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private IEnumerable<Measurement<int>> GateLoad(Func<(int Running, int Waiting, int Capacity), int> pick) =>
    [
        new(pick(limiters.Ai.Load), new KeyValuePair<string, object?>("gate", limiters.Ai.Name)),
        new(pick(limiters.Pdf.Load), new KeyValuePair<string, object?>("gate", limiters.Pdf.Name)),
    ];
}
