using System.Diagnostics;

namespace ChatStats.Throttling.LoadShedding;

/// <summary>How hard the process is working, from the monitor's point of view.</summary>
public enum LoadLevel
{
    Normal = 0,
    Elevated = 1,
    Critical = 2,
}

/// <summary>One reading: process CPU across all cores (0–100), work items waiting for a pool thread, and how late a 1 s timer fired.</summary>
public readonly record struct LoadSample(double CpuPercent, long ThreadPoolQueue, TimeSpan TimerLag);

/// <summary>Thresholds: a reading enters a level when any indicator reaches that level's mark.</summary>
public sealed record LoadSheddingOptions
{
    public double ElevatedCpuPercent { get; init; } = 75;
    public double CriticalCpuPercent { get; init; } = 92;
    public long ElevatedThreadPoolQueue { get; init; } = 100;
    public long CriticalThreadPoolQueue { get; init; } = 1_000;
    public TimeSpan ElevatedTimerLag { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan CriticalTimerLag { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive readings at a higher level before the monitor moves up: one spike is not a trend.</summary>
    public int SamplesToEnter { get; init; } = 3;

    /// <summary>How long every indicator must stay under <see cref="ExitRatio"/> of a level's marks before the monitor steps down.</summary>
    public TimeSpan CalmToExit { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A level is left only below this fraction of its entry marks, so a load hovering at a mark does not flap.</summary>
    public double ExitRatio { get; init; } = 0.75;

    public void Validate()
    {
        if (ElevatedCpuPercent <= 0 || CriticalCpuPercent < ElevatedCpuPercent || ElevatedThreadPoolQueue < 1 || CriticalThreadPoolQueue < ElevatedThreadPoolQueue
            || ElevatedTimerLag <= TimeSpan.Zero || CriticalTimerLag < ElevatedTimerLag || SamplesToEnter < 1 || CalmToExit < TimeSpan.Zero || ExitRatio is <= 0 or > 1)
        {
            throw new ArgumentException("Load-shedding marks must be positive, critical at or above elevated, and the exit ratio in (0, 1].");
        }
    }
}

/// <summary>
/// Moves between NORMAL, ELEVATED and CRITICAL from readings taken every second, with hysteresis both ways: it climbs
/// after <see cref="LoadSheddingOptions.SamplesToEnter"/> readings in a row at a higher level and steps down one level
/// only after <see cref="LoadSheddingOptions.CalmToExit"/> of readings below <see cref="LoadSheddingOptions.ExitRatio"/>
/// of that level's marks. What to do at each level is the caller's business (<see cref="Changed"/>).
/// </summary>
public sealed class LoadMonitor : IDisposable
{
    private readonly LoadSheddingOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<LoadSample>? _sampler;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private int _higherStreak;
    private long _lastUneasy;

    public LoadMonitor(string name, LoadSheddingOptions options, TimeProvider time, Func<LoadSample>? sampler = null)
    {
        options.Validate();
        Name = name;
        _options = options;
        _time = time;
        _sampler = sampler;
    }

    public string Name { get; }

    public LoadLevel Level { get; private set; }

    public LoadSample LastSample { get; private set; }

    public DateTimeOffset LevelSince { get; private set; }

    public LoadSheddingOptions Options => _options;

    /// <summary>Raised after the level changes, with the old and the new level.</summary>
    public event Action<LoadLevel, LoadLevel>? Changed;

    /// <summary>What a refused caller should be told to wait: at least the calm period that must pass before the level can drop.</summary>
    public TimeSpan SuggestedRetryAfter => _options.CalmToExit > TimeSpan.FromSeconds(5) ? _options.CalmToExit : TimeSpan.FromSeconds(5);

    /// <summary>Starts sampling every second with the sampler given, or with <see cref="ProcessLoadSampler"/>.</summary>
    public void Start()
    {
        var sampler = _sampler ?? new ProcessLoadSampler(_time).Sample;
        _timer ??= _time.CreateTimer(_ => Observe(sampler()), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Feeds one reading through the state machine; the timer calls this, and tests call it directly.</summary>
    public void Observe(LoadSample sample)
    {
        LoadLevel before, after;
        lock (_lock)
        {
            before = Level;
            LastSample = sample;
            var raw = Classify(sample, 1.0);
            var now = _time.GetTimestamp();
            if (raw > Level)
            {
                _lastUneasy = now;
                if (++_higherStreak >= _options.SamplesToEnter)
                {
                    // Straight to the level the readings show: a jump from NORMAL to CRITICAL needs no stop in between.
                    Level = raw;
                    _higherStreak = 0;
                }
            }
            else
            {
                _higherStreak = 0;
                // Calm means below the exit marks of the current level, not merely below its entry marks.
                if (Level == LoadLevel.Normal || Classify(sample, _options.ExitRatio) >= Level)
                {
                    _lastUneasy = now;
                }
                else if (_time.GetElapsedTime(_lastUneasy, now) >= _options.CalmToExit)
                {
                    Level--;
                    _lastUneasy = now;
                }
            }
            after = Level;
            if (after != before)
            {
                LevelSince = _time.GetUtcNow();
            }
        }
        if (after != before)
        {
            ThrottlingMetrics.LoadLevelChanges.Add(1, new KeyValuePair<string, object?>("monitor", Name), new KeyValuePair<string, object?>("level", after.ToString().ToLowerInvariant()));
            Changed?.Invoke(before, after);
        }
    }

    private LoadLevel Classify(LoadSample s, double ratio)
    {
        var o = _options;
        if (s.CpuPercent >= o.CriticalCpuPercent * ratio || s.ThreadPoolQueue >= o.CriticalThreadPoolQueue * ratio || s.TimerLag >= o.CriticalTimerLag * ratio)
        {
            return LoadLevel.Critical;
        }
        if (s.CpuPercent >= o.ElevatedCpuPercent * ratio || s.ThreadPoolQueue >= o.ElevatedThreadPoolQueue * ratio || s.TimerLag >= o.ElevatedTimerLag * ratio)
        {
            return LoadLevel.Elevated;
        }
        return LoadLevel.Normal;
    }

    public void Dispose() => _timer?.Dispose();
}

/// <summary>
/// Reads the process: CPU time used since the last reading over the wall time and the cores, the thread pool's queue,
/// and the lag of the reading itself against the one-second schedule (a starved pool fires timers late).
/// </summary>
public sealed class ProcessLoadSampler(TimeProvider time)
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    private readonly Process _process = Process.GetCurrentProcess();
    private long _lastAt = time.GetTimestamp();
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;

    public LoadSample Sample()
    {
        var now = time.GetTimestamp();
        var elapsed = time.GetElapsedTime(_lastAt, now);
        _process.Refresh();
        var cpu = _process.TotalProcessorTime;
        var percent = elapsed > TimeSpan.Zero ? (cpu - _lastCpu).TotalSeconds / elapsed.TotalSeconds / Environment.ProcessorCount * 100 : 0;
        _lastAt = now;
        _lastCpu = cpu;
        var lag = elapsed - Period;
        return new LoadSample(Math.Clamp(percent, 0, 100), ThreadPool.PendingWorkItemCount, lag > TimeSpan.Zero ? lag : TimeSpan.Zero);
    }
}
