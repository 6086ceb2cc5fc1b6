using ChatStats.Bot.Data;
using ChatStats.Jobs;
using Npgsql;

namespace ChatStats.Bot.Stats;

internal sealed record FoldPendingArgs;

/// <summary>
/// Adds member totals an import left pending to chat_user_totals. An import folds its own when it finishes; this
/// catches what one that was killed part-way left behind, so leaderboards are whole again within minutes.
/// </summary>
internal sealed class FoldPendingTotalsJob(NpgsqlDataSource dataSource, ILogger<FoldPendingTotalsJob> logger) : IJob<FoldPendingArgs>
{
    public const string Cron = "*/5 * * * *";

    public async Task RunAsync(FoldPendingArgs args, JobContext context)
    {
        var folded = await RollupTriggers.FoldPendingAsync(dataSource, context.Cancellation);
        if (folded > 0)
        {
            logger.LogInformation("Folded pending totals of {Count} members left by an unfinished import", folded);
        }
    }
}
