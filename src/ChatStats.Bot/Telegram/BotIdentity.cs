using Telegram.Bot.Types;

namespace ChatStats.Bot.Telegram;

/// <summary>Who the bot is, from getMe at start-up; needed to tell "/stats@us" from "/stats@someone_else".</summary>
internal sealed class BotIdentity
{
    private User? _me;

    public User? Me => _me;

    public string? Username => _me?.Username;

    public void Set(User me) => _me = me;
}
