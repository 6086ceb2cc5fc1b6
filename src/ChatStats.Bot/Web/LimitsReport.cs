using System.Text.Json;
using System.Text.Json.Serialization;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Scaling;
using ChatStats.Bot.Throttling;
using ChatStats.Telegram.Sending;
using ChatStats.Throttling.LoadShedding;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Web;

public sealed record GateReport(string Name, int Running, int Waiting, int Capacity);

/// <summary>A user or chat and how often the limiters refused it in the last 10 to 20 minutes.</summary>
public sealed record Refused(long Id, int Refusals);

/// <summary>
/// How this instance counts the limits: "process" (no Redis configured), "shared" (in Redis, for every instance) or
/// "local" (Redis is away: each instance holds its share, the limit divided by the live instances counted here).
/// </summary>
public sealed record SharingReport(string Mode, string? Redis, int AnsweringInstances, int SendingInstances);

public sealed record LoadReport(string Level, DateTimeOffset Since, double CpuPercent, long ThreadPoolQueue, double TimerLagMs);

public sealed record ConcurrencyReport(
    int GlobalConcurrent, int GlobalQueued, int TotalUsers, IReadOnlyList<ChatStats.Throttling.Concurrency.UserLoad> BusiestUsers,
    int MaxConcurrentPerUser, int MaxQueuePerUser, int MaxConcurrentGlobal, int MaxQueueGlobal, double QueueTimeoutSeconds, double RetryAfterSeconds, string OverloadPolicy);

/// <summary>What <c>GET /api/admin/limits</c> answers: the limiters of one bot process, read live or from its heartbeat.</summary>
public sealed record LimitsReport(
    string Instance,
    DateTimeOffset At,
    bool Enabled,
    ConcurrencyReport Concurrency,
    IReadOnlyList<GateReport> Gates,
    LoadReport Load,
    int SenderWaiting,
    int TrackedUsers,
    int TrackedChats,
    int AnswersWaiting = 0,
    int AnswersRunning = 0,
    int ChatsPenalised = 0,
    IReadOnlyList<Refused>? MostLimitedUsers = null,
    IReadOnlyList<Refused>? MostLimitedChats = null,
    SharingReport? Sharing = null)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>
/// Builds the report from this process's limiters; registered only where the bot role runs, whose heartbeat carries it
/// (<see cref="IInstanceDetails"/>) to a web process elsewhere.
/// </summary>
internal sealed class LimitsReporter(CommandLimiters limiters, LoadMonitor load, MessageSender sender, IOptions<LimitsOptions> options, TimeProvider time,
    UpdateDispatcher? dispatcher = null, SharedLimits? shared = null, DeploymentPeers? peers = null) : IInstanceDetails
{
    private static readonly string Instance = $"{System.Net.Dns.GetHostName()}:{Environment.ProcessId}";

    public LimitsReport Build()
    {
        var stats = limiters.Resources.GetStats();
        var c = stats.Config;
        var sample = load.LastSample;
        return new LimitsReport(
            Instance,
            time.GetUtcNow(),
            options.Value.Enabled,
            new ConcurrencyReport(stats.GlobalConcurrent, stats.GlobalQueued, stats.TotalUsers,
                [.. stats.Users.OrderByDescending(u => u.Concurrent + u.Queued).Take(20)],
                c.MaxConcurrentPerUser, c.MaxQueuePerUser, c.MaxConcurrentGlobal, c.MaxQueueGlobal, c.QueueTimeout.TotalSeconds, c.RetryAfter.TotalSeconds,
                options.Value.OverloadPolicy.ToLowerInvariant()),
            [Gate(limiters.Ai), Gate(limiters.Pdf)],
            new LoadReport(load.Level.ToString().ToUpperInvariant(), load.LevelSince, Math.Round(sample.CpuPercent, 1), sample.ThreadPoolQueue, Math.Round(sample.TimerLag.TotalMilliseconds, 1)),
            sender.Waiting,
            limiters.Commands.Count,
            limiters.Tiers.Count,
            dispatcher?.Waiting ?? 0,
            dispatcher?.InFlight ?? 0,
            sender.Penalised,
            [.. limiters.RefusedUsers.Top(10).Select(p => new Refused(p.Key, p.Value))],
            [.. limiters.RefusedChats.Top(10).Select(p => new Refused(p.Key, p.Value))],
            new SharingReport(shared?.Mode ?? "process", shared?.Store?.Endpoints, peers?.Answering ?? 1, peers?.Sending ?? 1));
    }

    public string BuildJson() => JsonSerializer.Serialize(Build(), LimitsReport.Json);

    private static GateReport Gate(ChatStats.Throttling.Concurrency.WorkGate gate)
    {
        var (running, waiting, capacity) = gate.Load;
        return new GateReport(gate.Name, running, waiting, capacity);
    }
}
