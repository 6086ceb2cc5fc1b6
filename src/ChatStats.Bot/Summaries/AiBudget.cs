using ChatStats.Bot.Throttling;
using Microsoft.Extensions.Options;
using Dapper;
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
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var spent = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT coalesce((SELECT ai_tokens FROM chat_daily_usage WHERE chat_id = @chat AND day = @day), 0)",
            new { chat = chatId, day = quota.Today(zone).Day }, cancellationToken: ct));
        return Math.Max(0, cap - spent);
    }

    public async Task AddAsync(long chatId, TimeZoneInfo zone, long tokens, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO chat_daily_usage AS u (chat_id, day, used, ai_tokens) VALUES (@chat, @day, 0, @tokens)
            ON CONFLICT (chat_id, day) DO UPDATE SET ai_tokens = u.ai_tokens + excluded.ai_tokens
            """, new { chat = chatId, day = quota.Today(zone).Day, tokens = (int)Math.Min(int.MaxValue, tokens) }, cancellationToken: ct));
    }
}
