using Npgsql;

namespace ChatStats.Bot.Ingest;

/// <summary>The record of answered updates (see <see cref="Data.HandledUpdate"/>), trimmed by the nightly purge.</summary>
internal static class HandledUpdates
{
    /// <summary>Telegram re-delivers an update for at most a day; two leave room for a bot that was down meanwhile.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(2);

    public static async Task<int> PurgeAsync(NpgsqlDataSource dataSource, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("DELETE FROM handled_updates WHERE handled_at < @before");
        cmd.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("before", now - Keep));
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
