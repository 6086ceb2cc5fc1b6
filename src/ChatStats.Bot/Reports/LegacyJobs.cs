using System.Text.Json;
using ChatStats.Bot.Jobs;
using Hangfire;
using Hangfire.States;
using Npgsql;

namespace ChatStats.Bot.Reports;

/// <summary>
/// The upgrade from ChatStats's own job queue (schema <c>jobs</c>, before Hangfire). The migration that drops that schema
/// first copies the jobs still waiting — scheduled, enqueued, running when the old worker stopped, or failed and
/// waiting for a retry — into <c>legacy_jobs</c>, so <c>dotnet ef database update</c> loses none; this carries them into
/// Hangfire (reports and digests; the old recurring jobs are registered anew) and drops the table once it is empty.
/// Runs in <c>chatstats migrate</c> and when workers start; two processes at once carry each job once.
/// </summary>
internal sealed class LegacyJobs(NpgsqlDataSource dataSource, IBackgroundJobClient jobs, ReportRequests requests, ILogger<LegacyJobs> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record OldReportArgs(long ChatId, string Period, int? ThreadId, int? ReplyTo, string? Language);

    private sealed record OldDigestArgs(long ChatId, string Day);

    /// <returns>How many jobs were carried into Hangfire.</returns>
    public async Task<int> CarryAsync(CancellationToken ct)
    {
        await using (var exists = dataSource.CreateCommand("SELECT to_regclass('legacy_jobs') IS NOT NULL"))
        {
            if (await exists.ExecuteScalarAsync(ct) is not true)
            {
                return 0;
            }
        }
        var carried = 0;
        while (true)
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            long id;
            string type;
            string args;
            DateTime runAt;
            await using (var claim = new NpgsqlCommand(
                "SELECT id, type, args::text, run_at FROM legacy_jobs ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED", connection, tx))
            await using (var reader = await claim.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct))
                {
                    break;
                }
                (id, type, args, runAt) = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetDateTime(3));
            }
            // The Hangfire job is created before the row goes: a crash in between carries it twice, which the report's
            // request record and the digest's day mark both absorb; the other order could lose it.
            if (await CarryOneAsync(type, args, runAt, ct))
            {
                carried++;
            }
            await using (var delete = new NpgsqlCommand("DELETE FROM legacy_jobs WHERE id = @id", connection, tx))
            {
                delete.Parameters.Add(new NpgsqlParameter<long>("id", id));
                await delete.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
        }
        await using (var drop = dataSource.CreateCommand("DROP TABLE IF EXISTS legacy_jobs"))
        {
            await drop.ExecuteNonQueryAsync(ct);
        }
        if (carried > 0)
        {
            logger.LogInformation("Carried {Count} job(s) from the old job queue into Hangfire", carried);
        }
        return carried;
    }

    private async Task<bool> CarryOneAsync(string type, string args, DateTime runAt, CancellationToken ct)
    {
        // A job that was due runs now; one scheduled for later keeps its time.
        IState state = runAt > DateTime.UtcNow ? new ScheduledState(DateTime.SpecifyKind(runAt, DateTimeKind.Utc)) : new EnqueuedState();
        switch (type)
        {
            case "report" when JsonSerializer.Deserialize<OldReportArgs>(args, Json) is { } old:
                var report = new ReportArgs(old.ChatId, old.Period, old.ThreadId, old.ReplyTo, old.Language);
                await requests.TryRequestAsync(report.ChatId, report.Period, ct);
                var job = jobs.Create<ReportJob>(ReportJob.Queue, j => j.RunAsync(report, null, CancellationToken.None), state);
                await requests.AttachAsync(report.ChatId, report.Period, job, ct);
                return true;
            case "digest" when JsonSerializer.Deserialize<OldDigestArgs>(args, Json) is { } old:
                jobs.Create<DigestJob>(JobsOptions.DefaultQueue, j => j.RunAsync(old.ChatId, CancellationToken.None), state);
                return true;
            case "retention-purge" or "digest-sweep" or "fold-pending-totals":
                // Recurring work: registered anew when workers start.
                return false;
            default:
                logger.LogWarning("A job of type {Type} in the old queue has no counterpart any more; not carried: {Args}", type, args);
                return false;
        }
    }
}
