using System.Globalization;
using System.Text;
using ChatStats.Bot.Data;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Throttling;
using Npgsql;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

/// <summary>/optout and /optin: a member's choice about their text and their place in leaderboards, per chat.</summary>
internal abstract class OptCommand(Privacy privacy, Replies replies, bool optOut) : IBotCommand
{
    public string Name => optOut ? "optout" : "optin";
    public string DescriptionKey => optOut ? "CommandOptOut" : "CommandOptIn";

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (!context.IsGroup || context.Message.From is not { } from)
        {
            await replies.SendAsync(context, context.T("GroupOnly"), ct);
            return;
        }
        await privacy.SetOptOutAsync(context.ChatId, from.Id, optOut, ct);
        await replies.SendAsync(context, context.T(optOut ? "OptedOut" : "OptedIn"), ct);
    }
}

internal sealed class OptOutCommand(Privacy privacy, Replies replies) : OptCommand(privacy, replies, optOut: true);

internal sealed class OptInCommand(Privacy privacy, Replies replies) : OptCommand(privacy, replies, optOut: false);

/// <summary>/forgetme: deletes the sender's data in this chat; in a private chat with the bot, in every chat.</summary>
internal sealed class ForgetMeCommand(Privacy privacy, Replies replies) : IBotCommand
{
    public string Name => "forgetme";
    public string DescriptionKey => "CommandForgetMe";

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        // An anonymous admin speaks as the chat: there is no person to forget.
        if (context.Message.From is not { } from || context.Message.SenderChat is not null)
        {
            return;
        }
        var result = await privacy.ForgetAsync(from.Id, context.IsGroup ? context.ChatId : null, ct);
        await replies.SendAsync(context, context.IsGroup
            ? context.T("ForgotGroup", result.Messages.ToString("N0", context.Culture))
            : context.T("ForgotPrivate", result.Messages.ToString("N0", context.Culture), result.Chats), ct);
    }
}

/// <summary>
/// /settings: shows the chat's settings to anyone; changes them for admins (Telegram says who they are):
/// <c>tz</c>, <c>lang</c>, <c>retention</c>, <c>store_text</c>, <c>summary on|off</c> (the /summary command's rule) and
/// <c>command NAME enabled|admin|disabled</c>.
/// </summary>
internal sealed partial class SettingsCommand(
    StatsQueries queries, Privacy privacy, ChatAdmins admins, NpgsqlDataSource dataSource, Replies replies, IServiceProvider services, IDigestSchedule digests, ChatSettingsWriter settings,
    ISummaryModel summaryModel) : IBotCommand
{
    /// <summary>Commands that stay open to everyone: they are how people control their own data.</summary>
    public static readonly string[] Locked = ["optout", "optin", "forgetme", "settings", "help", "start"];

    public string Name => "settings";
    public string DescriptionKey => "CommandSettings";

    /// <summary>An IANA zone's name: "Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3".</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_+\-]{0,40}(/[A-Za-z0-9_+\-]{1,40}){0,3}$")]
    private static partial System.Text.RegularExpressions.Regex ZoneName();

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (!context.IsGroup)
        {
            await replies.SendAsync(context, context.T("GroupOnly"), ct);
            return;
        }
        var words = context.Command.Arguments.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var chat = context.Chat ?? await queries.ChatAsync(context.ChatId, ct);
        if (chat is null)
        {
            await replies.SendAsync(context, context.T("StatsEmpty"), ct);
            return;
        }
        if (words.Length == 0)
        {
            await replies.SendAsync(context, Show(chat, context), ct);
            return;
        }
        var message = context.Message;
        if (message.SenderChat?.Id != message.Chat.Id)
        {
            var isAdmin = message.From is { } from ? await admins.IsAdminAsync(message.Chat.Id, from.Id, ct) : false;
            if (isAdmin != true)
            {
                await replies.SendAsync(message, context.T(isAdmin is null ? "AdminCheckFailed" : "SettingsAdminOnly"), ct);
                return;
            }
        }
        var answer = await ChangeAsync(chat, words, context, ct);
        await replies.SendAsync(message, answer, ct);
    }

    private async Task<string> ChangeAsync(ChatInfo chat, string[] words, CommandContext context, CancellationToken ct)
    {
        var key = words[0].ToLowerInvariant();
        var value = words.Length > 1 ? words[1] : "";
        switch (key)
        {
            case "tz" or "timezone" when words.Length == 2:
                // Only a zone's name goes to the lookup: on Linux it reads a file of that name, and "/etc/passwd" or
                // "../../x" must not reach it.
                if (!ZoneName().IsMatch(value) || !TimeZoneInfo.TryFindSystemTimeZoneById(value, out var zone) || !await DatabaseKnowsZoneAsync(zone.Id, ct))
                {
                    return context.T("SettingsBadZone", Html.Quote(value));
                }
                await SetAsync("time_zone", chat.Id, zone.Id, ct);
                // A digest follows the chat's zone: its recurring job moves with it.
                await digests.ApplyAsync(chat.Id, ct);
                return context.T("SettingsSaved", "tz", Html.Escape(zone.Id));
            case "lang" or "language" when words.Length == 2:
                var lang = value.ToLowerInvariant();
                if (lang != "auto" && !Localizer.Supported.Contains(lang))
                {
                    return context.T("SettingsBadLanguage", Html.Quote(value));
                }
                await SetAsync("language", chat.Id, lang == "auto" ? null : lang, ct);
                // Confirmed in the language just chosen.
                var culture = Localizer.Choose(lang == "auto" ? null : lang, context.Message.From?.LanguageCode);
                return Localizer.Format("SettingsSaved", culture, "lang", lang);
            case "retention" when words.Length == 2:
                int? days = value.Equals("off", StringComparison.OrdinalIgnoreCase) ? null
                    : int.TryParse(value.EndsWith('d') ? value[..^1] : value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 36_500 ? n : -1;
                if (days == -1)
                {
                    return context.T("SettingsBadRetention", Html.Quote(value));
                }
                await SetAsync("retention_days", chat.Id, days, ct);
                return context.T("SettingsSaved", "retention", days is null ? context.T("SettingsRetentionOff") : context.T("SettingsRetentionDays", days));
            case "digest" when words.Length == 2:
                string? at = value.Equals("off", StringComparison.OrdinalIgnoreCase) ? null
                    : TimeOnly.TryParseExact(value, ["H:mm", "HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) ? time.ToString("HH:mm", CultureInfo.InvariantCulture) : "bad";
                if (at == "bad")
                {
                    return context.T("SettingsBadDigest", Html.Quote(value));
                }
                await settings.SetDigestAsync(chat.Id, at is null ? null : TimeOnly.ParseExact(at, "HH:mm", CultureInfo.InvariantCulture), ct);
                await digests.ApplyAsync(chat.Id, ct);
                return context.T("SettingsSaved", "digest", at ?? context.T("Off"));
            case "store_text" when words.Length == 2:
                if (Switch(value) is not { } on)
                {
                    return context.T("SettingsBadSwitch", Html.Quote(value));
                }
                await SetAsync("store_text", chat.Id, on, ct);
                if (!on)
                {
                    await privacy.DropTextAsync(chat.Id, ct);
                }
                return context.T("SettingsSaved", "store_text", context.T(on ? "On" : "Off"));
            case "summary" when words.Length == 2:
                // The /summary command's own rule: off disables it, on opens it to everyone again.
                if (Switch(value) is not { } summaries)
                {
                    return context.T("SettingsBadSwitch", Html.Quote(value));
                }
                await settings.SetCommandPolicyAsync(chat.Id, "summary", summaries ? CommandPolicy.Enabled : CommandPolicy.Disabled, ct);
                return context.T("SettingsSaved", "summary", context.T(summaries ? "On" : "Off"));
            case "command" when words.Length == 3:
                var name = words[1].TrimStart('/').ToLowerInvariant();
                var policy = words[2].ToLowerInvariant();
                using (var scope = services.CreateScope())
                {
                    if (!scope.ServiceProvider.GetServices<IBotCommand>().Any(c => c.Name == name))
                    {
                        return context.T("SettingsBadCommand", Html.Quote(words[1]));
                    }
                }
                if (Locked.Contains(name))
                {
                    return context.T("SettingsLocked", name);
                }
                if (policy is not ("enabled" or "admin" or "disabled"))
                {
                    return context.T("SettingsBadPolicy", Html.Quote(words[2]));
                }
                await settings.SetCommandPolicyAsync(chat.Id, name, Enum.Parse<CommandPolicy>(policy, ignoreCase: true), ct);
                return context.T("SettingsSaved", "/" + name, policy);
            default:
                return $"{context.T("SettingsUnknown", Html.Quote(string.Join(' ', words)))}\n{context.T("SettingsHelp")}";
        }
    }

    private static bool? Switch(string value) => value.ToLowerInvariant() switch
    {
        "on" or "yes" or "true" or "1" => true,
        "off" or "no" or "false" or "0" => false,
        _ => null,
    };

    internal string Show(ChatInfo chat, CommandContext context)
    {
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("SettingsTitle")).Append("</b>\n");
        text.Append(context.T("SettingsZone", Html.Escape(chat.Zone.Id))).Append('\n');
        text.Append(context.T("SettingsLanguage", chat.Language ?? context.T("SettingsLanguageAuto"))).Append('\n');
        text.Append(context.T("SettingsRetention", chat.RetentionDays is { } d ? context.T("SettingsRetentionDays", d) : context.T("SettingsRetentionOff"))).Append('\n');
        text.Append(context.T("SettingsStoreText", context.T(chat.StoreText ? "On" : "Off"))).Append('\n');
        var digest = chat.Settings.DigestText;
        text.Append(context.T("SettingsDigest", digest is null ? context.T("Off") : $"{digest} ({Html.Escape(chat.Zone.Id)})")).Append('\n');
        var rules = chat.Settings.Commands;
        var summary = chat.Settings.PolicyOf("summary") == CommandPolicy.Disabled ? context.T("Off")
            : summaryModel.Model is { } model ? context.T("SettingsSummaryAi", Html.Escape(model)) : context.T("SettingsSummaryOffline");
        text.Append(context.T("SettingsSummary", summary)).Append('\n');
        var list = rules is null || rules.Count == 0 ? context.T("SettingsNone") : string.Join(", ", rules.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"/{r.Key} {ChatSettings.Name(r.Value)}"));
        text.Append(context.T("SettingsCommands", Html.Escape(list))).Append("\n\n");
        text.Append(context.T("SettingsHelp"));
        return text.ToString();
    }

    private async Task<bool> DatabaseKnowsZoneAsync(string zone, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = @zone)").With("zone", zone);
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    /// <summary>Writes one setting column of the chat (a name from this class, never from the message).</summary>
    private async Task SetAsync(string column, long chatId, object? value, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"UPDATE chats SET {column} = @value, updated_at = now() WHERE id = @chat").With("chat", chatId);
        cmd.Parameters.Add(new NpgsqlParameter("value", value ?? DBNull.Value));
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
