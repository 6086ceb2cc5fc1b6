using System.Diagnostics;

namespace ChatStats.Testing;

/// <summary>
/// Waiting for what another thread, process or server will make true: the condition is asked every few milliseconds
/// of real time until it holds, and the wait fails naming what it waited for. The one "poll until" of the test suites.
/// </summary>
public static class Eventually
{
    /// <summary>Long enough for a loaded 2-core CI machine; a passing test never waits for it.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(10);

    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? patience = null, TimeSpan? every = null) =>
        TrueAsync(() => Task.FromResult(condition()), () => what, patience, every);

    public static Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? patience = null, TimeSpan? every = null) =>
        TrueAsync(condition, () => what, patience, every);

    /// <summary>The same, describing the failure when it happens (what was seen instead, at that moment).</summary>
    public static Task TrueAsync(Func<bool> condition, Func<string> what, TimeSpan? patience = null, TimeSpan? every = null) =>
        TrueAsync(() => Task.FromResult(condition()), what, patience, every);

    public static async Task TrueAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? patience = null, TimeSpan? every = null)
    {
        var limit = patience ?? Patience;
        var started = Stopwatch.GetTimestamp();
        while (!await condition().ConfigureAwait(false))
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"gave up after {limit.TotalSeconds:0.#} s waiting for: {what()}");
            }
            await Task.Delay(every ?? Every).ConfigureAwait(false);
        }
    }
}
