using ChatStats.Bot.Throttling;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Summaries;

/// <summary>
/// Tokens a chat's summaries may spend per day of its calendar (<c>Ai:MaxTokensPerChatPerDay</c>), kept beside the
/// daily quota's count in <c>chat_daily_usage</c>, so restarts and other processes see the same spend.
/// </summary>
internal sealed class AiBudget(NpgsqlDataSource dataSource, DailyQuota quota, IOptions<AiOptions> options)
{
    /// <summary>What the chat may still spend today; <see cref="long.MaxValue"/> without a cap.</summary>
    public async Task<long> RemainingAsync(long chatId, TimeZoneInfo zone, CancellationToken ct)
    {
        var cap = options.Value.MaxTokensPerChatPerDay;
        if (cap == 0)
        {
            return long.MaxValue;
        }
        await using var cmd = dataSource.CreateCommand("SELECT coalesce((SELECT ai_tokens FROM chat_daily_usage WHERE chat_id = $1 AND day = $2), 0)");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = quota.Today(zone).Day });
        return Math.Max(0, cap - Convert.ToInt64(await cmd.ExecuteScalarAsync(ct)));
    }

    public async Task AddAsync(long chatId, TimeZoneInfo zone, long tokens, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO chat_daily_usage AS u (chat_id, day, used, ai_tokens) VALUES ($1, $2, 0, $3)
            ON CONFLICT (chat_id, day) DO UPDATE SET ai_tokens = u.ai_tokens + excluded.ai_tokens
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = quota.Today(zone).Day });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)Math.Min(int.MaxValue, tokens) });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
