using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatStats.Throttling.Shared;

/// <summary>How to reach the Redis that holds limiter state for every process of one deployment.</summary>
public sealed record SharedStoreOptions
{
    /// <summary>StackExchange.Redis configuration ("host:port,password=…").</summary>
    public required string Configuration { get; init; }

    /// <summary>Prefixes every key, so several deployments can share one Redis without sharing limits.</summary>
    public string KeyPrefix { get; init; } = "chatstats:";

    /// <summary>
    /// How long a limiter waits for Redis before it decides alone. StackExchange.Redis waits 5 s by default, which would put
    /// five seconds in front of every command while Redis is unreachable; a check on a healthy Redis takes well under a
    /// millisecond.
    /// </summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How often a ping asks whether Redis is still there (so an idle process notices the loss, and says so, before its
    /// next command waits on it) or, while it is away, whether it is back.
    /// </summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The Redis connection the shared limiters use, and whether it can be used right now. While Redis answers, limits are
/// counted there for the whole deployment. When a call or the periodic ping fails or times out, or the client reports the
/// connection lost, the store says so once in the log, flips to local (each limiter then counts in process, its limits
/// divided among the live instances) and pings until Redis answers again; then it logs the return and flips back. No limiter waits on a Redis known to be away.
/// </summary>
public sealed class SharedStore : IAsyncDisposable
{
    private static readonly Meter Counters = new(ThrottlingMetrics.MeterName + ".Shared");
    private static readonly Counter<long> Failures = Counters.CreateCounter<long>("chatstats.throttling.shared_failures", "{call}",
        "Calls to the shared limit store (Redis) that failed or timed out; each one was decided locally instead.");
    private static readonly Counter<long> Transitions = Counters.CreateCounter<long>("chatstats.throttling.shared_transitions", "{change}",
        "Times the limits went from shared (Redis) to local or back, by the state entered.");

    private readonly ConnectionMultiplexer _redis;
    private readonly ILogger _logger;
    private readonly SharedStoreOptions _options;
    private readonly ITimer _probe;
    private readonly Meter _meter = new(ThrottlingMetrics.MeterName + ".Shared.State");
    private int _shared; // 1 while Redis counts: flipped with Interlocked so a change is logged and raised once
    private int _probing;

    private SharedStore(ConnectionMultiplexer redis, SharedStoreOptions options, TimeProvider time, ILogger logger)
    {
        _redis = redis;
        _options = options;
        _logger = logger;
        _shared = redis.IsConnected ? 1 : 0;
        Time = time;
        _probe = time.CreateTimer(_ => _ = ProbeAsync(), null, options.ProbeInterval, options.ProbeInterval);
        // The client reconnects on its own; when it has, check at once rather than at the next probe.
        redis.ConnectionRestored += (_, _) => _ = ProbeAsync();
        redis.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                Failed(e.Exception?.Message ?? e.FailureType.ToString());
            }
        };
        _meter.CreateObservableGauge("chatstats.throttling.shared", () => Volatile.Read(ref _shared), null,
            "1 while limits are counted in Redis for the whole deployment, 0 while this process counts them alone.");
        if (!IsAvailable)
        {
            _logger.LogWarning("Redis ({Endpoints}) is not reachable; limits are counted in this process, divided among the live instances, until it is",
                Endpoints);
        }
    }

    /// <summary>
    /// Connects (without failing when Redis is down: the store starts local and joins Redis when it answers). A
    /// configuration StackExchange.Redis cannot read throws <see cref="ArgumentException"/>.
    /// </summary>
    public static async Task<SharedStore> ConnectAsync(SharedStoreOptions options, TimeProvider time, ILogger logger)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration);
        // Start even while Redis is down, and keep reconnecting in the background: limits fall back, they never stop the bot.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)Math.Min(configuration.ConnectTimeout, 2_000);
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ClientName ??= $"chatstats-{Environment.MachineName}-{Environment.ProcessId}";
        var redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        if (!redis.IsConnected)
        {
            // The handshake may still be under way when ConnectAsync returns: one ping says whether Redis is there.
            try
            {
                await redis.GetDatabase().PingAsync().ConfigureAwait(false);
            }
            catch (RedisException)
            {
            }
        }
        return new SharedStore(redis, options, time, logger);
    }

    /// <summary>True while limits are counted in Redis.</summary>
    public bool IsAvailable => Volatile.Read(ref _shared) == 1;

    /// <summary>Redis as the operator named it, without a password.</summary>
    public string Endpoints => string.Join(", ", _redis.GetEndPoints().Select(e => e.ToString()));

    internal TimeProvider Time { get; }

    /// <summary>Raised with the new state whenever the limits go from shared to local or back.</summary>
    public event Action<bool>? AvailabilityChanged;

    public RedisKey Key(string limiter, string key) => $"{_options.KeyPrefix}{limiter}:{key}";

    /// <summary>Milliseconds since the epoch on this host's clock: every host of a deployment must keep NTP time.</summary>
    internal long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// The same, rounded up: for dating something that happened no earlier than now. Redis keeps whole milliseconds, and
    /// a date rounded down lets the window it starts end up to a millisecond early.
    /// </summary>
    internal long NowMsRoundedUp
    {
        get
        {
            var ticks = (Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks;
            return (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        }
    }

    /// <summary>Runs a script; null when Redis is away (known before, or found by this call), so the caller decides locally.</summary>
    public async ValueTask<RedisResult?> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] values)
    {
        if (!IsAvailable)
        {
            return null;
        }
        try
        {
            return await _redis.GetDatabase().ScriptEvaluateAsync(script, keys, values).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or ObjectDisposedException)
        {
            Failed(ex.Message);
            return null;
        }
    }

    /// <summary>The same, blocking: for <see cref="System.Threading.RateLimiting.PartitionedRateLimiter{T}.AttemptAcquire"/>, which is synchronous.</summary>
    public RedisResult? Evaluate(string script, RedisKey[] keys, RedisValue[] values)
    {
        if (!IsAvailable)
        {
            return null;
        }
        try
        {
            return _redis.GetDatabase().ScriptEvaluate(script, keys, values);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or ObjectDisposedException)
        {
            Failed(ex.Message);
            return null;
        }
    }

    /// <summary>Fire and forget: the outcome does not change any decision (stamping a permit that came back, say).</summary>
    internal void Send(Func<IDatabase, Task> command)
    {
        if (!IsAvailable)
        {
            return;
        }
        try
        {
            _ = command(_redis.GetDatabase());
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or ObjectDisposedException)
        {
            Failed(ex.Message);
        }
    }

    private void Failed(string error)
    {
        Failures.Add(1);
        if (Interlocked.CompareExchange(ref _shared, 0, 1) == 1)
        {
            Transitions.Add(1, new KeyValuePair<string, object?>("state", "local"));
            _logger.LogError("Redis ({Endpoints}) failed ({Error}); limits are now counted in this process, divided among the live instances, until it answers again",
                Endpoints, error);
            AvailabilityChanged?.Invoke(false);
        }
    }

    private async Task ProbeAsync()
    {
        if (Interlocked.Exchange(ref _probing, 1) == 1)
        {
            return;
        }
        var wasAvailable = IsAvailable;
        try
        {
            await _redis.GetDatabase().PingAsync().ConfigureAwait(false);
            if (wasAvailable || Interlocked.CompareExchange(ref _shared, 1, 0) == 1)
            {
                return;
            }
            Transitions.Add(1, new KeyValuePair<string, object?>("state", "shared"));
            _logger.LogWarning("Redis ({Endpoints}) answers again; limits are shared by every instance once more", Endpoints);
            AvailabilityChanged?.Invoke(true);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            if (wasAvailable)
            {
                Failed(ex.Message);
            }
            // Otherwise still away: the next tick asks again.
        }
        finally
        {
            Volatile.Write(ref _probing, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _probe.DisposeAsync().ConfigureAwait(false);
        _meter.Dispose();
        await _redis.CloseAsync().ConfigureAwait(false);
        _redis.Dispose();
    }
}
