using ChatStats.Testing;
using ChatStats.Throttling.LoadShedding;

namespace ChatStats.Throttling.Tests.LoadShedding;

public sealed class LoadMonitorTests
{
    private static readonly LoadSample Calm = new(10, 0, TimeSpan.Zero);
    private static readonly LoadSample Busy = new(80, 0, TimeSpan.Zero);
    private static readonly LoadSample Hot = new(95, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _time = new();
    private readonly List<(LoadLevel From, LoadLevel To)> _changes = [];

    private LoadMonitor Monitor(LoadSheddingOptions? options = null)
    {
        var monitor = new LoadMonitor("test", options ?? new LoadSheddingOptions { SamplesToEnter = 3, CalmToExit = TimeSpan.FromSeconds(30) }, _time);
        monitor.Changed += (from, to) => _changes.Add((from, to));
        return monitor;
    }

    private void Feed(LoadMonitor monitor, LoadSample sample, int seconds)
    {
        for (var i = 0; i < seconds; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            monitor.Observe(sample);
        }
    }

    [Fact]
    public void ASpikeShorterThanTheEntryStreakChangesNothing()
    {
        var monitor = Monitor();
        Feed(monitor, Hot, 2);
        Feed(monitor, Calm, 1);
        Feed(monitor, Hot, 2);

        Assert.Equal(LoadLevel.Normal, monitor.Level);
        Assert.Empty(_changes);
    }

    [Fact]
    public void SustainedLoadClimbsStraightToTheLevelItShows()
    {
        var monitor = Monitor();
        Feed(monitor, Busy, 3);
        Assert.Equal(LoadLevel.Elevated, monitor.Level);

        Feed(monitor, Hot, 3);
        Assert.Equal(LoadLevel.Critical, monitor.Level);

        var fresh = Monitor();
        Feed(fresh, Hot, 3);
        Assert.Equal(LoadLevel.Critical, fresh.Level);
        Assert.Equal([(LoadLevel.Normal, LoadLevel.Elevated), (LoadLevel.Elevated, LoadLevel.Critical), (LoadLevel.Normal, LoadLevel.Critical)], _changes);
    }

    [Theory]
    [InlineData(0, 150, 0)]   // thread-pool queue over the elevated mark
    [InlineData(0, 0, 300)]   // timer lag over the elevated mark
    public void EachIndicatorCountsOnItsOwn(double cpu, long queue, int lagMs)
    {
        var monitor = Monitor();
        Feed(monitor, new LoadSample(cpu, queue, TimeSpan.FromMilliseconds(lagMs)), 3);
        Assert.Equal(LoadLevel.Elevated, monitor.Level);
    }

    [Fact]
    public void ItStepsDownOneLevelAtATimeAfterACalmPeriod()
    {
        var monitor = Monitor();
        Feed(monitor, Hot, 3);

        Feed(monitor, Calm, 29);
        Assert.Equal(LoadLevel.Critical, monitor.Level);
        Feed(monitor, Calm, 1);
        Assert.Equal(LoadLevel.Elevated, monitor.Level);
        Feed(monitor, Calm, 30);
        Assert.Equal(LoadLevel.Normal, monitor.Level);
    }

    [Fact]
    public void LoadHoveringJustUnderAMarkDoesNotLetTheLevelGo()
    {
        var monitor = Monitor();
        Feed(monitor, Busy, 3);

        // 70 % is under the 75 % entry mark but above the exit mark (75 % × 0.75): still elevated, however long it lasts.
        Feed(monitor, new LoadSample(70, 0, TimeSpan.Zero), 120);
        Assert.Equal(LoadLevel.Elevated, monitor.Level);

        // A single busy reading during the calm period restarts it.
        Feed(monitor, Calm, 20);
        Feed(monitor, new LoadSample(60, 0, TimeSpan.Zero), 1);
        Feed(monitor, Calm, 20);
        Assert.Equal(LoadLevel.Elevated, monitor.Level);
        Feed(monitor, Calm, 10);
        Assert.Equal(LoadLevel.Normal, monitor.Level);
    }

    [Fact]
    public void StartedMonitorsSampleEverySecond()
    {
        var samples = new Queue<LoadSample>([Hot, Hot, Hot]);
        using var monitor = new LoadMonitor("timer", new LoadSheddingOptions(), _time, () => samples.Count > 0 ? samples.Dequeue() : Calm);
        monitor.Start();

        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(LoadLevel.Critical, monitor.Level);
        Assert.Equal(Hot, monitor.LastSample);
    }

    [Fact]
    public void TheProcessSamplerReadsSomethingPlausible()
    {
        var sampler = new ProcessLoadSampler(TimeProvider.System);
        var spin = DateTime.UtcNow.AddMilliseconds(100);
        while (DateTime.UtcNow < spin)
        {
            Thread.SpinWait(1000);
        }
        var sample = sampler.Sample();

        Assert.InRange(sample.CpuPercent, 0.1, 100);
        Assert.True(sample.ThreadPoolQueue >= 0);
        Assert.Equal(TimeSpan.Zero, sample.TimerLag); // read after 0.1 s, not late for a 1 s schedule
    }

    [Fact]
    public void ImpossibleMarksAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new LoadMonitor("bad", new LoadSheddingOptions { ElevatedCpuPercent = 90, CriticalCpuPercent = 50 }, _time));
        Assert.Throws<ArgumentException>(() => new LoadMonitor("bad", new LoadSheddingOptions { ExitRatio = 0 }, _time));
    }
}
