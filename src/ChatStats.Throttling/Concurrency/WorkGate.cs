namespace ChatStats.Throttling.Concurrency;

public sealed record WorkGateOptions
{
    public required int Capacity { get; init; }
    public int QueueLimit { get; init; } = 50;
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A bounded semaphore for one kind of expensive work (AI summaries, PDF rendering): at most <c>Capacity</c> at once,
/// a bounded line behind them, and a wait that ends with an <see cref="OverloadException"/> rather than never.
/// </summary>
public sealed class WorkGate
{
    private readonly ResourceLimiter<int> _limiter;
    private readonly WorkGateOptions _options;

    public WorkGate(string name, WorkGateOptions options, TimeProvider time)
    {
        _options = options;
        Name = name;
        _limiter = new ResourceLimiter<int>(name, Map(options, options.Capacity), time);
    }

    public string Name { get; }

    public int Capacity => _limiter.Options.MaxConcurrentGlobal;

    public ValueTask<ResourceLimiter<int>.Lease> EnterAsync(CancellationToken ct = default) => _limiter.AcquireAsync(0, ct);

    /// <summary>Scales capacity (never below one), as load shedding does under pressure.</summary>
    public void Scale(double factor) => _limiter.Reconfigure(Map(_options, Math.Max(1, (int)(_options.Capacity * factor))));

    public (int Running, int Waiting, int Capacity) Load
    {
        get
        {
            var stats = _limiter.GetStats();
            return (stats.GlobalConcurrent, stats.GlobalQueued, stats.Config.MaxConcurrentGlobal);
        }
    }

    private static ResourceLimiterOptions Map(WorkGateOptions o, int capacity) => new()
    {
        MaxConcurrentPerUser = capacity,
        MaxConcurrentGlobal = capacity,
        // One key: only the gate's own line counts.
        MaxQueuePerUser = int.MaxValue,
        MaxQueueGlobal = o.QueueLimit,
        QueueTimeout = o.WaitTimeout,
        RetryAfter = o.RetryAfter,
        Policy = OverloadPolicy.DropNewest,
    };
}
