using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// Hangfire has no timeout of its own: a job's <see cref="CancellationToken"/> is cancelled only at shutdown or
/// deletion. A deadline adds the queue's: <see cref="JobDeadline.Token"/> at SoftTimeoutSeconds (the job stops at its
/// next step), <see cref="JobDeadline.Hard"/> at TimeoutSeconds (child processes are killed with their trees).
/// </summary>
internal sealed class JobDeadlines(IOptions<JobsOptions> options, TimeProvider time)
{
    public JobDeadline Start(string queue, CancellationToken hangfire)
    {
        var settings = options.Value.Queue(queue);
        return new JobDeadline(queue, settings, time, hangfire);
    }
}

internal sealed class JobDeadline : IDisposable
{
    private readonly CancellationTokenSource _softTimer;
    private readonly CancellationTokenSource _hardTimer;
    private readonly CancellationTokenSource _soft;
    private readonly CancellationTokenSource _hard;
    private readonly CancellationToken _hangfire;
    private readonly string _queue;
    private readonly QueueOptions _settings;

    internal JobDeadline(string queue, QueueOptions settings, TimeProvider time, CancellationToken hangfire)
    {
        _queue = queue;
        _settings = settings;
        _hangfire = hangfire;
        _softTimer = new CancellationTokenSource(TimeSpan.FromSeconds(settings.SoftTimeoutSeconds), time);
        _hardTimer = new CancellationTokenSource(TimeSpan.FromSeconds(settings.TimeoutSeconds), time);
        _soft = CancellationTokenSource.CreateLinkedTokenSource(hangfire, _softTimer.Token);
        _hard = CancellationTokenSource.CreateLinkedTokenSource(hangfire, _hardTimer.Token);
    }

    /// <summary>Cancelled at the soft timeout, or when Hangfire stops the job (shutdown, deletion).</summary>
    public CancellationToken Token => _soft.Token;

    /// <summary>Cancelled at the hard timeout, or when Hangfire stops the job: what a child process is killed on.</summary>
    public CancellationToken Hard => _hard.Token;

    /// <summary>
    /// Turns a cancellation that came from a deadline (not from Hangfire) into the reason the attempt failed, for the
    /// dashboard and the log; null for a shutdown's cancellation, which must stay one so Hangfire puts the job back.
    /// </summary>
    public Exception? Explain(OperationCanceledException ex) =>
        _hangfire.IsCancellationRequested ? null
        : _hardTimer.IsCancellationRequested ? new TimeoutException($"killed at the hard timeout of {_settings.TimeoutSeconds} s (Jobs:Queues:{_queue}:TimeoutSeconds)", ex)
        : _softTimer.IsCancellationRequested ? new TimeoutException($"stopped at the soft timeout of {_settings.SoftTimeoutSeconds} s (Jobs:Queues:{_queue}:SoftTimeoutSeconds)", ex)
        : null;

    public void Dispose()
    {
        _soft.Dispose();
        _hard.Dispose();
        _softTimer.Dispose();
        _hardTimer.Dispose();
    }
}
