using ChatStats.Bot.Data;
using ChatStats.Bot.Ingest;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Stats;

/// <summary>
/// Folds pending word counts into the word rollup (see <see cref="WordRollup"/>) and packs the days that have ended, in
/// the bot role, where the texts are written. Every couple of seconds while recording has little to do; while more
/// than a chunk waits to be recorded or comes in a second, only every <see cref="MaxDeferral"/>: folding is the word
/// rollup's real cost (counting, and an upsert per word), and paid during a flood it would come out of the recording's
/// share of two cores (an interleaved ingest run measured 22 % fewer updates a second with the folder at work). The
/// texts wait in the pending table meanwhile, and <c>/words</c> counts a chat's own share of them itself. Several bots
/// fold side by side: each takes rows the others have not locked.
/// </summary>
internal sealed class WordRollupFolder(NpgsqlDataSource dataSource, InboxSignal inbox, IOptions<IngestOptions> options, TimeProvider time,
    ILogger<WordRollupFolder> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan MaxDeferral = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AfterFailure = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var busy = options.Value.ProcessBatchSize;
        var lastFold = time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Interval;
            if ((inbox.Backlog <= busy && inbox.ArrivingPerSecond <= busy) || time.GetElapsedTime(lastFold) >= MaxDeferral)
            {
                try
                {
                    var texts = await WordRollup.FoldAsync(dataSource, stoppingToken);
                    if (texts > 0)
                    {
                        IngestMetrics.WordTextsFolded.Add(texts);
                    }
                    await WordRollup.PackAsync(dataSource, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), stoppingToken);
                    lastFold = time.GetTimestamp();
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    // Nothing is lost: the rows stay pending, and /words counts them itself until a fold succeeds.
                    logger.LogWarning("Word counts not folded ({Error}); trying again in {Delay}", ex.Message, AfterFailure);
                    wait = AfterFailure;
                }
            }
            await Task.Delay(wait, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
