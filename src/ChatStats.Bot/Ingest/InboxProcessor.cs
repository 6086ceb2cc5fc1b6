using ChatStats.Telegram;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Drains the inbox: wakes when the poller adds updates (or every second), records chunks until the inbox is empty,
/// and backs off while the database is away. Leftovers from a previous run are recorded first. Two stages overlap:
/// while one chunk is written, the next is claimed and parsed; writes and dispatch stay strictly in order.
/// </summary>
internal sealed class InboxProcessor(
    IngestBatchProcessor processor,
    InboxSignal signal,
    [FromKeyedServices(Data.DatabaseExtensions.IngestPool)] NpgsqlDataSource dataSource,
    UpdateDispatcher dispatcher,
    IOptions<IngestOptions> options,
    TimeProvider time,
    ILogger<InboxProcessor> logger) : BackgroundService
{
    private static readonly Backoff Retry = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));

    /// <summary>Records chunks until the inbox is empty; returns whether there was anything to record.</summary>
    private async Task<bool> DrainAsync(CancellationToken ct)
    {
        var size = options.Value.ProcessBatchSize;
        var current = await processor.ClaimAsync(size, ct);
        if (current is null)
        {
            return false;
        }
        Task<IngestBatchProcessor.Chunk?>? next = null;
        try
        {
            while (current is not null)
            {
                next = processor.ClaimAsync(size, ct);
                signal.Processed(await processor.CompleteAsync(current, ct));
                await current.DisposeAsync();
                current = null;
                current = await next;
                next = null;
            }
            return true;
        }
        finally
        {
            if (current is not null)
            {
                await current.DisposeAsync();
            }
            if (next is not null && await next.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default) is { } pending)
            {
                // Not completed: disposing rolls back, and its updates stay in the inbox for the next attempt.
                await pending.DisposeAsync();
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        var counted = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (!counted)
                    {
                        await using var cmd = dataSource.CreateCommand("SELECT coalesce(sum(update_count), 0)::bigint FROM update_inbox");
                        var waiting = (long)(await cmd.ExecuteScalarAsync(stoppingToken))!;
                        signal.Set(waiting);
                        counted = true;
                        if (waiting > 0)
                        {
                            logger.LogInformation("{Count} received updates were waiting to be recorded; recording them first", waiting);
                        }
                    }
                    if (!await DrainAsync(stoppingToken))
                    {
                        await signal.WaitForWorkAsync(TimeSpan.FromSeconds(1), stoppingToken);
                    }
                    failures = 0;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    var delay = Retry.Delay(failures++);
                    if (failures == 1)
                    {
                        logger.LogError(ex, "Recording updates failed; they stay in the inbox, retrying in {Delay}", delay);
                    }
                    else
                    {
                        logger.LogWarning("Still cannot record updates (attempt {Attempt}: {Error}); retrying in {Delay}", failures, ex.Message, delay);
                    }
                    await Task.Delay(delay, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await dispatcher.DrainAsync(TimeSpan.FromSeconds(10));
        }
    }
}
