using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Throttling;

/// <summary>A chat's rate tier as the operator set it; null means Limits:DefaultTier.</summary>
internal sealed record ChatTier(long ChatId, string? Title, string? Tier, string Effective);

/// <summary>Reads and sets chats' tiers: what <c>chatstats tier</c> and <c>PUT /api/admin/chats/{id}/tier</c> share.</summary>
internal sealed class ChatTiers(NpgsqlDataSource dataSource, IOptions<LimitsOptions> options)
{
    static ChatTiers() => Data.SqlMapping.Apply();

    public IReadOnlyCollection<string> Names => options.Value.Tiers.Keys;

    public async Task<ChatTier?> GetAsync(long chatId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<TierRow>(new CommandDefinition(
            "SELECT title, tier FROM chats WHERE id = @chat", new { chat = chatId }, cancellationToken: ct));
        return row is null ? null : new ChatTier(chatId, row.Title, row.Tier, row.Tier ?? options.Value.DefaultTier.ToUpperInvariant());
    }

    private sealed record TierRow(string? Title, string? Tier);

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
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE chats SET tier = @tier, updated_at = now() WHERE id = @chat", new { chat = chatId, tier = stored }, cancellationToken: ct));
        return changed == 0 ? null : await GetAsync(chatId, ct);
    }
}
