using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Throttling;

/// <summary>A chat's rate tier as the operator set it; null means Limits:DefaultTier.</summary>
internal sealed record ChatTier(long ChatId, string? Title, string? Tier, string Effective);

/// <summary>Reads and sets chats' tiers: what <c>chatstats tier</c> and <c>PUT /api/admin/chats/{id}/tier</c> share.</summary>
internal sealed class ChatTiers(NpgsqlDataSource dataSource, IOptions<LimitsOptions> options)
{
    public IReadOnlyCollection<string> Names => options.Value.Tiers.Keys;

    public async Task<ChatTier?> GetAsync(long chatId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT title, tier FROM chats WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var tier = reader.IsDBNull(1) ? null : reader.GetString(1);
        return new ChatTier(chatId, reader.IsDBNull(0) ? null : reader.GetString(0), tier, tier ?? options.Value.DefaultTier.ToUpperInvariant());
    }

    /// <summary>
    /// Sets the tier ("default" clears it). Returns null for an unknown chat; throws <see cref="ArgumentException"/> for
    /// a tier that is not configured. The bot picks the change up with the chat's next command.
    /// </summary>
    public async Task<ChatTier?> SetAsync(long chatId, string tier, CancellationToken ct)
    {
        string? stored;
        if (tier.Equals("default", StringComparison.OrdinalIgnoreCase))
        {
            stored = null;
        }
        else if (options.Value.Tiers.ContainsKey(tier))
        {
            stored = tier.ToUpperInvariant();
        }
        else
        {
            throw new ArgumentException($"'{tier}' is not a tier; use one of {string.Join(", ", Names.Select(n => n.ToUpperInvariant()))} or 'default'.");
        }
        await using var cmd = dataSource.CreateCommand("UPDATE chats SET tier = $2, updated_at = now() WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)stored ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await cmd.ExecuteNonQueryAsync(ct) == 0 ? null : await GetAsync(chatId, ct);
    }
}
