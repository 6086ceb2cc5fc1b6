using Npgsql;

namespace ChatStats.Bot.Reports;

/// <summary>
/// report_requests: one report per chat and period waiting or running at a time (a second /report for it is told it
/// is on its way, and its quota unit is given back), and one report per chat running at a time across every worker
/// (a unique index over the running ones). Rows go when the report is delivered or has failed for good; one older
/// than <see cref="Stale"/> (its job deleted by hand, say) no longer blocks a new request.
/// </summary>
internal sealed class ReportRequests(NpgsqlDataSource dataSource)
{
    public static readonly TimeSpan Stale = TimeSpan.FromHours(1);

    /// <summary>Records a request; false when one for the same chat and period is already on its way.</summary>
    public async Task<bool> TryRequestAsync(long chatId, string period, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO report_requests AS r (chat_id, period, requested_at) VALUES (@chat, @period, now())
            ON CONFLICT (chat_id, period) DO UPDATE SET requested_at = now(), job_id = NULL, started_at = NULL
              WHERE r.requested_at < now() - @stale
            RETURNING true
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        cmd.Parameters.Add(new NpgsqlParameter<string>("period", period));
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan>("stale", Stale));
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    public async Task AttachAsync(long chatId, string period, string jobId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("UPDATE report_requests SET job_id = @job WHERE chat_id = @chat AND period = @period");
        cmd.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        cmd.Parameters.Add(new NpgsqlParameter<string>("period", period));
        cmd.Parameters.Add(new NpgsqlParameter<string>("job", jobId));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Marks the report running; false while another report of the same chat runs (its worker may have died: a running
    /// mark older than <paramref name="staleRunning"/> is cleared first). The same job fetched again after its worker
    /// died finds its own mark and goes on.
    /// </summary>
    public async Task<bool> TryStartAsync(long chatId, string period, string jobId, TimeSpan staleRunning, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        var clear = new NpgsqlBatchCommand("""
            UPDATE report_requests SET started_at = NULL
            WHERE chat_id = @chat AND started_at < now() - @stale AND job_id IS DISTINCT FROM @job
            """);
        clear.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        clear.Parameters.Add(new NpgsqlParameter<TimeSpan>("stale", staleRunning));
        clear.Parameters.Add(new NpgsqlParameter<string>("job", jobId));
        var start = new NpgsqlBatchCommand("""
            INSERT INTO report_requests AS r (chat_id, period, job_id, requested_at, started_at) VALUES (@chat, @period, @job, now(), now())
            ON CONFLICT (chat_id, period) DO UPDATE SET job_id = excluded.job_id, started_at = coalesce(r.started_at, now())
            """);
        start.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        start.Parameters.Add(new NpgsqlParameter<string>("period", period));
        start.Parameters.Add(new NpgsqlParameter<string>("job", jobId));
        batch.BatchCommands.Add(clear);
        batch.BatchCommands.Add(start);
        try
        {
            await batch.ExecuteNonQueryAsync(ct);
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "ix_report_requests_one_running")
        {
            return false;
        }
    }

    /// <summary>The report was delivered, or failed for good: the chat may ask for it again.</summary>
    public async Task FinishAsync(long chatId, string period, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("DELETE FROM report_requests WHERE chat_id = @chat AND period = @period");
        cmd.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        cmd.Parameters.Add(new NpgsqlParameter<string>("period", period));
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
