using System.Diagnostics.Metrics;

namespace ChatStats.Bot.Throttling;

/// <summary>
/// How fast the process's resident memory grows: RSS read every 30 s, the slope of a least-squares line through the
/// last hour of readings, in bytes an hour. A leak is a steady positive slope; a GC sawtooth averages out. On /metrics
/// (<c>chatstats_process_memory_growth_bytes_per_hour</c>) and /admin; the alert uses Prometheus's own deriv().
/// </summary>
internal sealed class MemoryTrend : IHostedService, IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly TimeProvider _time;
    private readonly Func<long> _read;
    private readonly Queue<(DateTimeOffset At, long Bytes)> _samples = new();
    private readonly Lock _lock = new();
    private ITimer? _timer;

    public MemoryTrend(TimeProvider time, IMeterFactory meters, Func<long>? read = null)
    {
        _time = time;
        _read = read ?? (() => Environment.WorkingSet);
        meters.Create("ChatStats.Bot.Process").CreateObservableGauge("chatstats.process.memory_growth_bytes_per_hour", () => BytesPerHour ?? 0, "{byte}/h",
            "Resident memory's growth over the last hour (least squares over readings every 30 s): a steady climb is a leak.");
    }

    /// <summary>Null until ten minutes of readings exist.</summary>
    public double? BytesPerHour
    {
        get
        {
            lock (_lock)
            {
                if (_samples.Count < 2 || _samples.Last().At - _samples.Peek().At < TimeSpan.FromMinutes(10))
                {
                    return null;
                }
                var origin = _samples.Peek().At;
                double n = _samples.Count, sx = 0, sy = 0, sxx = 0, sxy = 0;
                foreach (var (at, bytes) in _samples)
                {
                    var x = (at - origin).TotalHours;
                    sx += x;
                    sy += bytes;
                    sxx += x * x;
                    sxy += x * bytes;
                }
                var d = n * sxx - sx * sx;
                return d == 0 ? null : (n * sxy - sx * sy) / d;
            }
        }
    }

    public void Sample()
    {
        var now = _time.GetUtcNow();
        var bytes = _read();
        lock (_lock)
        {
            _samples.Enqueue((now, bytes));
            while (_samples.Count > 0 && now - _samples.Peek().At > Window)
            {
                _samples.Dequeue();
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(_ => Sample(), null, TimeSpan.Zero, Interval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();
}
