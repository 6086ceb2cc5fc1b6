using System.Globalization;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Telegram;

/// <summary>
/// The command menu Telegram shows in one language, which <see cref="BotService"/> publishes with setMyCommands at
/// start; the commands provide it, so receiving never needs to know them.
/// </summary>
internal interface ICommandMenu
{
    IReadOnlyList<BotCommand> For(CultureInfo culture);
}
