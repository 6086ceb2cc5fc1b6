using ChatStats.Bot.Data;
using Npgsql;

namespace ChatStats.Bot.Stats;

/// <summary>
/// Adds member totals an import left pending to chat_user_totals. An import folds its own when it finishes; this
/// catches what one that was killed part-way left behind, so leaderboards are whole again within minutes. It folds
/// pending word counts as well, for an installation whose bot (which folds them continuously) is stopped.
/// </summary>
internal sealed class FoldPendingTotalsJob(NpgsqlDataSource dataSource, TimeProvider time, ILogger<FoldPendingTotalsJob> logger)
{
    public const string Cron = "*/5 * * * *";

    public async Task RunAsync(CancellationToken ct)
    {
        var folded = await RollupTriggers.FoldPendingAsync(dataSource, ct);
        if (folded > 0)
        {
            logger.LogInformation("Folded pending totals of {Count} members left by an unfinished import", folded);
        }
        await WordRollup.FoldAsync(dataSource, ct);
        await WordRollup.PackAsync(dataSource, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), ct);
    }
}
