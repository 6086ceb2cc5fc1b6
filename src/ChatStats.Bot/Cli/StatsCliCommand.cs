using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatStats.Bot.Stats;
using ChatStats.Telegram.Types;

namespace ChatStats.Bot.Cli;

/// <summary><c>chatstats stats --chat ID</c>: the numbers /stats shows, without Telegram.</summary>
internal static class StatsCliCommand
{
    public static Command Build()
    {
        var chat = new Option<long>("--chat") { Description = "The chat id (negative for groups), as Telegram gives it.", Required = true };
        var format = new Option<string>("--format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var top = new Option<int>("--top") { Description = "How many leaders to list.", DefaultValueFactory = _ => 10 };
        var command = new Command("stats", "Print a chat's totals: messages, members, words, per kind, leaders.") { chat, format, top };
        command.SetAction(async (parse, ct) => await ChatStatsCli.RunGuardedAsync(async () =>
        {
            using var host = AppHost.BuildTool([]);
            var query = host.Services.GetRequiredService<ChatTotalsQuery>();
            var chatId = parse.GetValue(chat);
            var totals = await query.GetAsync(chatId, Math.Clamp(parse.GetValue(top), 1, 100), ct);
            if (totals is null)
            {
                await Console.Error.WriteLineAsync($"chatstats: no chat {chatId} in the database. Chat ids of groups are negative; 'SELECT id, title FROM chats' lists them.");
                return 1;
            }
            Console.WriteLine(parse.GetValue(format) == "json" ? ToJson(totals) : ToText(totals));
            return 0;
        }));
        return command;
    }

    internal static string ToText(ChatTotals t)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"chat      {t.ChatId} {t.Title}",
            $"messages  {t.Messages.ToString("N0", c)}",
            $"members   {t.Members.ToString("N0", c)}",
            $"words     {t.Words.ToString("N0", c)}",
            $"chars     {t.Chars.ToString("N0", c)}",
            "by kind",
        };
        lines.AddRange(t.ByKind.Where(k => k.Value > 0).OrderByDescending(k => k.Value).Select(k => $"  {Snake(k.Key),-12} {k.Value.ToString("N0", c)}"));
        lines.Add("top");
        lines.AddRange(t.Top.Select((m, i) => $"  {i + 1,2}. {m.Name} ({m.UserId}) {m.Messages.ToString("N0", c)}"));
        return string.Join('\n', lines);
    }

    internal static string ToJson(ChatTotals t)
    {
        var dto = new StatsJson(t.ChatId, t.Title, t.Messages, t.Members, t.Words, t.Chars,
            t.ByKind.ToDictionary(k => Snake(k.Key), k => k.Value),
            [.. t.Top.Select(m => new LeaderJson(m.UserId, m.Name, m.Username, m.Messages))]);
        return JsonSerializer.Serialize(dto, CliJsonContext.Default.StatsJson);
    }

    private static string Snake(MessageKind kind) => Data.ChatStatsDbContext.SnakeCase(kind.ToString());
}

internal sealed record LeaderJson(long UserId, string Name, string? Username, long Messages);

internal sealed record StatsJson(long ChatId, string? Title, long Messages, long Members, long Words, long Chars, Dictionary<string, long> ByKind, List<LeaderJson> Top);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(StatsJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
