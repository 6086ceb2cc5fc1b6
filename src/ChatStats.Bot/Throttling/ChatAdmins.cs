using System.Collections.Concurrent;
using Telegram.Bot;
using Telegram.Bot.Exceptions;

namespace ChatStats.Bot.Throttling;

/// <summary>
/// Who administers a chat, as Telegram says (getChatAdministrators), cached for five minutes: admin-only commands
/// never rely on a stored guess, and a busy chat does not cost a Bot API call per command.
/// </summary>
internal sealed class ChatAdmins(ITelegramBotClient client, TimeProvider time, ILogger<ChatAdmins> logger)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<long, (HashSet<long> Admins, DateTimeOffset At)> _cache = new();

    /// <summary>Whether <paramref name="userId"/> is an admin of <paramref name="chatId"/>; null when Telegram cannot say right now.</summary>
    public async Task<bool?> IsAdminAsync(long chatId, long userId, CancellationToken ct)
    {
        if (_cache.TryGetValue(chatId, out var cached) && time.GetUtcNow() - cached.At < CacheFor)
        {
            return cached.Admins.Contains(userId);
        }
        try
        {
            var admins = (await client.GetChatAdministrators(chatId, cancellationToken: ct)).Select(m => m.User.Id).ToHashSet();
            _cache[chatId] = (admins, time.GetUtcNow());
            return admins.Contains(userId);
        }
        catch (RequestException ex)
        {
            logger.LogWarning("getChatAdministrators for chat {ChatId} failed: {Error}", chatId, ex.Message);
            return null;
        }
    }
}
