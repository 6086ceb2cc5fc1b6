using System.CommandLine;
using ChatStats.Bot.Throttling;

namespace ChatStats.Bot.Cli;

/// <summary><c>chatstats tier --chat ID [--set TIER]</c>: shows or sets a chat's rate tier.</summary>
internal static class TierCliCommand
{
    public static Command Build()
    {
        var chat = new Option<long>("--chat") { Description = "The chat id (negative for groups), as Telegram gives it.", Required = true };
        var set = new Option<string?>("--set") { Description = "FREE, PREMIUM, ENTERPRISE, INTERNAL (or any tier under Limits:Tiers), or 'default'." };
        var command = new Command("tier", "Show a chat's rate tier, or set it with --set.") { chat, set };
        command.SetAction(async (parse, ct) => await ChatStatsCli.RunGuardedAsync(async () =>
        {
            using var host = AppHost.BuildTool([]);
            var tiers = host.Services.GetRequiredService<ChatTiers>();
            var chatId = parse.GetValue(chat);
            ChatTier? result;
            try
            {
                result = parse.GetValue(set) is { } tier ? await tiers.SetAsync(chatId, tier, ct) : await tiers.GetAsync(chatId, ct);
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync($"chatstats: {ex.Message}");
                return 2;
            }
            if (result is null)
            {
                await ChatStatsCli.NoSuchChatAsync(chatId);
                return 1;
            }
            Console.WriteLine($"chat {result.ChatId} {Terminal.Safe(result.Title)}: tier {result.Effective}{(result.Tier is null ? " (the default)" : "")}");
            return 0;
        }));
        return command;
    }
}
