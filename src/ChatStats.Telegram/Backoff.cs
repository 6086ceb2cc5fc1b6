namespace ChatStats.Telegram;

/// <summary>Exponential backoff with jitter: attempt n waits between half and all of min(cap, initial × 2ⁿ).</summary>
public sealed record Backoff(TimeSpan Initial, TimeSpan Cap)
{
    public static Backoff Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

    public TimeSpan Delay(int attempt, double random)
    {
        var exponent = Math.Min(Math.Max(attempt, 0), 30);
        var ceiling = Math.Min(Cap.TotalMilliseconds, Initial.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + 0.5 * Math.Clamp(random, 0, 1)));
    }

    public TimeSpan Delay(int attempt) => Delay(attempt, Random.Shared.NextDouble());
}
