using ChatStats.Bot.Data;
using Npgsql;

namespace ChatStats.Bot.Stats;

/// <summary>
/// Folds pending word counts into the word rollup (see <see cref="WordRollup"/>) every couple of seconds in the bot
/// role, where the texts are written, so <c>/words</c> rarely has more than a few seconds of texts to count itself; and
/// packs the days that have ended.
/// Several bots fold side by side: each takes rows the others have not locked.
/// </summary>
internal sealed class WordRollupFolder(NpgsqlDataSource dataSource, TimeProvider time, ILogger<WordRollupFolder> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AfterFailure = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Interval;
            try
            {
                var texts = await WordRollup.FoldAsync(dataSource, stoppingToken);
                if (texts > 0)
                {
                    Ingest.IngestMetrics.WordTextsFolded.Add(texts);
                }
                await WordRollup.PackAsync(dataSource, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
            {
                // Nothing is lost: the rows stay pending, and /words counts them itself until a fold succeeds.
                logger.LogWarning("Word counts not folded ({Error}); trying again in {Delay}", ex.Message, AfterFailure);
                wait = AfterFailure;
            }
            await Task.Delay(wait, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
