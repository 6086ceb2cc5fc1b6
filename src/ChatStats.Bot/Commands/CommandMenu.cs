using System.Globalization;
using ChatStats.Bot.Presentation;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Commands;

/// <summary>Every registered command with its description in the asked language, in the order they were registered.</summary>
internal sealed class CommandMenu(IServiceScopeFactory scopes) : ICommandMenu
{
    public IReadOnlyList<BotCommand> For(CultureInfo culture)
    {
        // Commands are scoped (they take the scope's database and limiters); naming them needs nothing else.
        using var scope = scopes.CreateScope();
        return [.. scope.ServiceProvider.GetServices<IBotCommand>().Select(c => new BotCommand(c.Name, Localizer.Get(c.DescriptionKey, culture)))];
    }
}
