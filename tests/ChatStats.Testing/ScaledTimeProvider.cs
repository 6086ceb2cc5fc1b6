using System.Diagnostics;

namespace ChatStats.Testing;

/// <summary>
/// A clock that runs <see cref="Speed"/> times faster than real time from its own origin, timers included: a minute of
/// Telegram's limits passes in a few real seconds, while everything still happens concurrently and on its own. Two
/// instances are two independent clocks (each reads the machine's clock for itself), as the bot's and Telegram's are.
/// </summary>
public sealed class ScaledTimeProvider(double speed, DateTimeOffset? start = null) : TimeProvider
{
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _start = start ?? DateTimeOffset.UtcNow;

    public double Speed { get; } = speed > 0 ? speed : throw new ArgumentOutOfRangeException(nameof(speed), speed, "must be positive");

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override long GetTimestamp() => (long)((Stopwatch.GetTimestamp() - _origin) * Speed);

    public override DateTimeOffset GetUtcNow() => _start + TimeSpan.FromSeconds(GetTimestamp() / (double)Stopwatch.Frequency);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new ScaledTimer(System.CreateTimer(callback, state, Real(dueTime), Real(period)), this);

    /// <summary>This clock's span in real time; infinite stays infinite.</summary>
    private TimeSpan Real(TimeSpan span) => span == Timeout.InfiniteTimeSpan ? span : TimeSpan.FromTicks((long)(span.Ticks / Speed));

    private sealed class ScaledTimer(ITimer inner, ScaledTimeProvider clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(clock.Real(dueTime), clock.Real(period));
        public void Dispose() => inner.Dispose();
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
