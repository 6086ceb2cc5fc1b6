using System.Threading.RateLimiting;

namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// A granted lease whose units go back (their window starts, their slot frees) when it is disposed, once however often
/// it is disposed: the arrival windows, local and shared, hand these out for a request still on its way.
/// </summary>
internal sealed class ReturningLease(Action giveBack) : RateLimitLease
{
    private int _returned;

    public override bool IsAcquired => true;

    public override IEnumerable<string> MetadataNames => [];

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = null;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            giveBack();
        }
        base.Dispose(disposing);
    }
}
