using System.Diagnostics.Metrics;

namespace ChatStats.Bot.Summaries;

internal static class SummaryMetrics
{
    public const string MeterName = "ChatStats.Bot.Summaries";
    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Summaries = Meter.CreateCounter<long>("chatstats.summaries", "{summary}",
        "Summaries sent, by kind (ai, offline) and why an offline one was sent (not_configured, breaker_open, budget, busy, timeout, rate_limited, http_NNN, unreachable, malformed, empty).");

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("chatstats.ai.requests", "{request}",
        "Requests to the AI provider, by outcome (ok, or why it failed), after the resilience handler's retries.");

    public static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>("chatstats.ai.request.duration", "s",
        "Time of one request to the AI provider, retries included.");

    public static readonly Counter<long> Tokens = Meter.CreateCounter<long>("chatstats.ai.tokens", "{token}",
        "Tokens sent to (in) and received from (out) the AI provider; per chat and day in chat_daily_usage.ai_tokens.");

    public static readonly Histogram<double> GateWait = Meter.CreateHistogram<double>("chatstats.ai.gate.wait", "s",
        "Time a summary waited for a place at the AI gate (Limits:AiConcurrency).");

    /// <summary>The breaker of the process's AI client (the last one built, in tests that start several hosts).</summary>
    public static Func<int> BreakerState { get; set; } = () => -1;

    private static readonly ObservableGauge<int> Breaker = Meter.CreateObservableGauge("chatstats.ai.breaker.state", () => BreakerState(), "{state}",
        "The AI provider's circuit breaker: 0 closed, 1 half-open, 2 open, 3 isolated; -1 with no model configured.");
}
