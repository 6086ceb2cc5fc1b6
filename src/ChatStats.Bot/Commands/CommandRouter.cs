using ChatStats.Bot.Stats;
using ChatStats.Bot.Throttling;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

/// <summary>Finds the command a message invokes and runs it in the chat's language.</summary>
internal sealed class CommandRouter(
    IEnumerable<IBotCommand> commands,
    BotIdentity identity,
    StatsQueries queries,
    CommandGuard guard,
    CommandLimiters limiters,
    CapacityMonitor capacity,
    Replies replies,
    ILogger<CommandRouter> logger)
{
    private readonly Dictionary<string, IBotCommand> _commands = commands.ToDictionary(c => c.Name);

    /// <summary>
    /// Runs the command of <paramref name="askers"/>: one message, or several people's identical chat-wide question
    /// (oldest first), answered once. The newest asker whom the guard lets through is answered, and the answer says how
    /// many asked; the others are not charged. When the guard lets nobody through, the newest asker hears why.
    /// </summary>
    public async Task HandleAsync(IReadOnlyList<Message> askers, CancellationToken ct)
    {
        var message = askers[^1];
        // Other bots are not obeyed; an anonymous admin (a bot-shaped sender acting for the chat) is.
        if ((message.From is { IsBot: true } && message.SenderChat is null) || CommandParser.Parse(message.Text, identity.Username) is not { } parsed)
        {
            return;
        }
        if (capacity.IsRefused(message.Chat.Id))
        {
            // A group refused for lack of capacity has been told so; the bot is on its way out.
            return;
        }
        if (!_commands.TryGetValue(parsed.Name, out var command))
        {
            // Another bot's command, or a typo: groups are noisy, so unknown commands get no answer.
            logger.LogDebug("Ignoring unknown command /{Command} in chat {ChatId}", parsed.Name, message.Chat.Id);
            return;
        }
        var culture = Localizer.Choose(null, message.From?.LanguageCode);
        try
        {
            // One read of the chat serves the guard (tier, command rules), the language and the command itself.
            var chat = message.Chat.IsGroup() ? await queries.ChatAsync(message.Chat.Id, ct) : null;
            limiters.SetTier(message.Chat.Id, chat?.Tier);
            string? notice = null;
            for (var i = askers.Count - 1; i >= 0; i--)
            {
                var asker = askers[i];
                if (asker.From is { IsBot: true } && asker.SenderChat is null)
                {
                    continue;
                }
                var context = new CommandContext(asker, parsed, Localizer.Choose(chat?.Language, asker.From?.LanguageCode), chat, askers.Count);
                culture = context.Culture;
                var verdict = await guard.CheckAsync(context, command, chat?.Settings, ct);
                if (!verdict.Allowed)
                {
                    logger.LogDebug("/{Command} from {UserId} in chat {ChatId} refused", parsed.Name, asker.From?.Id, asker.Chat.Id);
                    notice ??= i == askers.Count - 1 ? verdict.Notice : null;
                    continue;
                }
                message = asker;
                using (verdict.Lease)
                {
                    await command.ExecuteAsync(context, ct);
                }
                return;
            }
            if (notice is not null)
            {
                await replies.SendAsync(askers[^1], notice, ct);
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is not RequestException)
        {
            // Never silence: the person hears that it failed and whether waiting helps (a database with no free
            // connection within Database:ConnectionTimeoutSeconds is "busy"); the update is still dead-lettered.
            // The cause may be wrapped (Hangfire's client wraps its storage's errors, EF Core its provider's).
            var busy = false;
            for (var cause = ex; cause is not null && !busy; cause = cause.InnerException)
            {
                busy = cause is Npgsql.NpgsqlException or TimeoutException;
            }
            try
            {
                await replies.SendAsync(message, Localizer.Get(busy ? "DatabaseBusy" : "CommandFailed", culture), ct);
            }
            catch (RequestException replyError)
            {
                logger.LogWarning("Could not tell chat {ChatId} that /{Command} failed: {Error}", message.Chat.Id, parsed.Name, replyError.Message);
            }
            throw;
        }
    }
}

/// <summary>Handles one update that needs an answer; the dispatcher runs it in a scope of its own.</summary>
internal interface IUpdateHandler
{
    /// <param name="updates">The update to answer; or, when several people asked the same chat-wide question while it
    /// waited (<see cref="IQuestionKeys"/>), all of theirs, oldest first, to be answered once.</param>
    Task HandleAsync(IReadOnlyList<Update> updates, CancellationToken ct);
}

/// <summary>The one switch every update that needs an answer goes through.</summary>
internal sealed class UpdateRouter(CommandRouter commands, MembershipHandler membership) : IUpdateHandler
{
    public Task HandleAsync(IReadOnlyList<Update> updates, CancellationToken ct) => updates[^1] switch
    {
        { Message: not null } => commands.HandleAsync([.. updates.Select(u => u.Message!)], ct),
        { MyChatMember: { } change } => membership.HandleAsync(change, ct),
        _ => Task.CompletedTask,
    };
}
