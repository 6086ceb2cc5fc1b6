using System.Diagnostics.Metrics;
using ChatStats.Throttling.LoadShedding;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Throttling;

/// <summary>
/// The seed's emergency throttle, in-process: samples the process every second and acts on the level. ELEVATED halves
/// the AI and PDF gates and pauses recurring work (<see cref="RecurringWorkPaused"/>); CRITICAL also answers heavy
/// commands with "busy, retry in N s" (the command guard asks <see cref="ShedHeavy"/>). Ingest is never shed: updates
/// are recorded whatever the level.
/// </summary>
internal sealed class LoadSheddingService(LoadMonitor monitor, CommandLimiters limiters, IOptions<LimitsOptions> options, IMeterFactory meters, ILogger<LoadSheddingService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var meter = meters.Create("ChatStats.Bot.Load");
        meter.CreateObservableGauge("chatstats.load.level", () => (int)monitor.Level, "{level}", "Load-shedding level: 0 NORMAL, 1 ELEVATED, 2 CRITICAL.");
        meter.CreateObservableGauge("chatstats.load.cpu", () => monitor.LastSample.CpuPercent, "%", "Process CPU across all cores at the last reading.");
        meter.CreateObservableGauge("chatstats.load.threadpool_queue", () => monitor.LastSample.ThreadPoolQueue, "{item}", "Work items waiting for a pool thread at the last reading.");
        meter.CreateObservableGauge("chatstats.load.timer_lag", () => monitor.LastSample.TimerLag.TotalSeconds, "s", "How late the one-second reading fired.");
        monitor.Changed += OnChanged;
        if (options.Value.LoadShedding.Enabled)
        {
            monitor.Start();
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        monitor.Changed -= OnChanged;
        return Task.CompletedTask;
    }

    private void OnChanged(LoadLevel from, LoadLevel to)
    {
        var factor = to == LoadLevel.Normal ? 1.0 : 0.5;
        limiters.Ai.Scale(factor);
        limiters.Pdf.Scale(factor);
        var s = monitor.LastSample;
        if (to > from)
        {
            logger.LogWarning("Load {From} → {To} (CPU {Cpu:0}%, thread-pool queue {Queue}, timer lag {Lag:0} ms): gates at {Factor:P0}{Extra}",
                from, to, s.CpuPercent, s.ThreadPoolQueue, s.TimerLag.TotalMilliseconds, factor, to == LoadLevel.Critical ? ", heavy commands refused" : ", recurring work paused");
        }
        else
        {
            logger.LogInformation("Load {From} → {To}: gates at {Factor:P0}", from, to, factor);
        }
    }

    /// <summary>Recurring work (digests, purges) waits while the process is under pressure.</summary>
    public static bool RecurringWorkPaused(LoadMonitor monitor) => monitor.Level >= LoadLevel.Elevated;

    /// <summary>Heavy commands are answered "busy" while the process is critical.</summary>
    public static bool ShedHeavy(LoadMonitor monitor) => monitor.Level == LoadLevel.Critical;
}
