using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Data;

/// <summary>Who may use a command in a chat; enabled (everyone) unless an admin said otherwise with /settings.</summary>
internal enum CommandPolicy
{
    Enabled,
    Admin,
    Disabled,
}

/// <summary>
/// chats.settings (jsonb), read once when the chat is read: <c>{"commands": {"stats": "admin"}, "digest": "09:00"}</c>.
/// A value ChatStats does not understand (a hand edit, a key from a later version) reads as the default, never as an
/// error: a chat's settings must not stop its commands. Changed through <see cref="ChatSettingsWriter"/>, one key at a
/// time.
/// </summary>
internal sealed record ChatSettings(IReadOnlyDictionary<string, CommandPolicy> Commands, TimeOnly? Digest)
{
    public static readonly ChatSettings Default = new(new Dictionary<string, CommandPolicy>(), null);

    /// <summary>The command's rule here (names are lower case, without the slash).</summary>
    public CommandPolicy PolicyOf(string command) => Commands.GetValueOrDefault(command.ToLowerInvariant(), CommandPolicy.Enabled);

    /// <summary>The digest time as stored and shown, "HH:mm"; null when there is no digest.</summary>
    public string? DigestText => Digest?.ToString("HH:mm", CultureInfo.InvariantCulture);

    public static ChatSettings Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json) || json == "{}")
        {
            return Default;
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Default;
            }
            var commands = new Dictionary<string, CommandPolicy>();
            if (doc.RootElement.TryGetProperty("commands", out var rules) && rules.ValueKind == JsonValueKind.Object)
            {
                foreach (var rule in rules.EnumerateObject())
                {
                    if (rule.Value.ValueKind == JsonValueKind.String && Enum.TryParse<CommandPolicy>(rule.Value.GetString(), ignoreCase: true, out var policy)
                        && Enum.IsDefined(policy))
                    {
                        commands[rule.Name.ToLowerInvariant()] = policy;
                    }
                }
            }
            TimeOnly? digest = doc.RootElement.TryGetProperty("digest", out var at) && at.ValueKind == JsonValueKind.String
                && TimeOnly.TryParseExact(at.GetString(), ["H:mm", "HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
                ? time
                : null;
            return new ChatSettings(commands, digest);
        }
        catch (JsonException)
        {
            return Default;
        }
    }

    /// <summary>How a policy is stored and shown: enabled, admin, disabled.</summary>
    public static string Name(CommandPolicy policy) => policy.ToString().ToLowerInvariant();
}

/// <summary>
/// One writer per settings key, each a single UPDATE on the stored JSON: two admins changing two keys at the same time
/// both keep their change (a read-modify-write of the whole document would lose one).
/// </summary>
internal sealed class ChatSettingsWriter(NpgsqlDataSource dataSource)
{
    /// <summary>The stored settings as an object (a hand edit that left something else is replaced, not an error on every change).</summary>
    private const string Current = "(CASE WHEN jsonb_typeof(settings) = 'object' THEN settings ELSE '{}'::jsonb END)";

    private const string CurrentCommands = $"(CASE WHEN jsonb_typeof(settings -> 'commands') = 'object' THEN settings -> 'commands' ELSE '{{}}'::jsonb END)";

    /// <summary>A command's rule; <see cref="CommandPolicy.Enabled"/>, the default, is not stored.</summary>
    public Task SetCommandPolicyAsync(long chatId, string command, CommandPolicy policy, CancellationToken ct) =>
        policy == CommandPolicy.Enabled
            ? UpdateAsync($"{Current} #- ARRAY['commands', @command]", new { chat = chatId, command = command.ToLowerInvariant() }, ct)
            : UpdateAsync($"jsonb_set({Current}, '{{commands}}', {CurrentCommands} || jsonb_build_object(@command::text, @policy::text))",
                new { chat = chatId, command = command.ToLowerInvariant(), policy = ChatSettings.Name(policy) }, ct);

    /// <summary>The daily digest's time in the chat's zone, or none.</summary>
    public Task SetDigestAsync(long chatId, TimeOnly? at, CancellationToken ct) =>
        at is { } time
            ? UpdateAsync($"jsonb_set({Current}, '{{digest}}', to_jsonb(@at::text))", new { chat = chatId, at = time.ToString("HH:mm", CultureInfo.InvariantCulture) }, ct)
            : UpdateAsync($"{Current} - 'digest'", new { chat = chatId }, ct);

    /// <summary>
    /// One UPDATE whose new value is computed from the row's current settings, so a concurrent change to another key
    /// (which PostgreSQL makes this one wait for, then re-reads) is kept.
    /// </summary>
    /// <param name="args">The chat as <c>@chat</c>, and what <paramref name="newSettings"/> names.</param>
    private async Task UpdateAsync(string newSettings, object args, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition($"UPDATE chats SET settings = {newSettings}, updated_at = now() WHERE id = @chat", args, cancellationToken: ct));
    }
}
