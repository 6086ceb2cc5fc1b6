using ChatStats.Telegram;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.Options;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Telegram;

/// <summary>
/// The bot role: learns who it is (getMe); in webhook mode registers the webhook (URL, secret, allowed updates,
/// max_connections), in polling mode removes any webhook so it does not take the updates; publishes its commands; then
/// polls, or leaves receiving to the web role. A rejected token stops the process with exit code 3 and a line saying
/// what to do.
/// </summary>
internal sealed class BotService(
    ITelegramBotClient client,
    LongPoller poller,
    LongPollerOptions pollerOptions,
    PollerLeadership leadership,
    BotIdentity identity,
    ICommandMenu menu,
    IOptions<TelegramOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<BotService> logger) : BackgroundService
{
    public const int UnauthorizedExitCode = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var me = await RetryAsync("getMe", ct => client.GetMe(ct), stoppingToken);
            identity.Set(me);
            logger.LogInformation("Running as @{Username} ({BotId})", me.Username, me.Id);
            var o = options.Value;
            if (o.Mode == TelegramMode.Webhook)
            {
                await RetryAsync("setWebhook", async ct =>
                {
                    await client.SetWebhook(o.WebhookUrl, maxConnections: o.WebhookMaxConnections, allowedUpdates: pollerOptions.AllowedUpdates,
                        dropPendingUpdates: false, secretToken: o.WebhookSecret, cancellationToken: ct);
                    return true;
                }, stoppingToken);
                logger.LogInformation("Receiving by webhook at {Url} (up to {MaxConnections} deliveries at once)", o.WebhookUrl, o.WebhookMaxConnections);
            }
            else
            {
                // A webhook left over from webhook mode would make every getUpdates fail with 409.
                await RetryAsync("deleteWebhook", async ct =>
                {
                    await client.DeleteWebhook(dropPendingUpdates: false, cancellationToken: ct);
                    return true;
                }, stoppingToken);
            }
            if (o.SetCommandsOnStart)
            {
                await PublishCommandsAsync(stoppingToken);
            }
            if (o.Mode == TelegramMode.Polling)
            {
                // Any number of bot processes may run; the one that holds the poller lock polls, the others stand by.
                await leadership.RunAsync(poller.RunAsync, stoppingToken);
            }
        }
        catch (BotUnauthorizedException ex)
        {
            Fail(ex.Message);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PublishCommandsAsync(CancellationToken ct)
    {
        foreach (var language in Localizer.Supported)
        {
            var list = menu.For(System.Globalization.CultureInfo.GetCultureInfo(language));
            try
            {
                await client.SetMyCommands(list, languageCode: language == "en" ? null : language, cancellationToken: ct);
            }
            catch (RequestException ex) when (!ex.IsUnauthorized())
            {
                // The command menu is a convenience; never stop the bot over it.
                logger.LogWarning("setMyCommands for {Language} failed: {Error}", language, ex.Message);
            }
        }
    }

    private async Task<T> RetryAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call(ct);
            }
            catch (RequestException ex) when (ex.IsUnauthorized())
            {
                throw new BotUnauthorizedException(
                    $"Telegram rejected the bot token on {what} ({ex.Code()} {ex.Message}). Check TELEGRAM_BOT_TOKEN / Telegram:BotToken; @BotFather's /token shows the current one.");
            }
            catch (RequestException ex) when (what == "setWebhook" && ex.Code() == 400)
            {
                // Telegram refuses the URL itself (not https, a port it does not serve, a name it cannot resolve): say so and keep trying.
                var delay = Backoff.Default.Delay(attempt);
                logger.LogError("Telegram refused the webhook {Url}: {Error}. Check Telegram:WebhookUrl (TELEGRAM_WEBHOOK_URL): https on port 443, 80, 88 or 8443. Retrying in {Delay}",
                    options.Value.WebhookUrl, ex.Message, delay);
                await Task.Delay(delay, time, ct);
            }
            catch (RequestException ex)
            {
                var delay = ex.RetryAfter() ?? Backoff.Default.Delay(attempt);
                logger.LogWarning("{Call} failed ({Error}); retrying in {Delay}", what, ex.Message, delay);
                await Task.Delay(delay, time, ct);
            }
        }
    }

    private void Fail(string message)
    {
        logger.LogCritical("{Message}", message);
        Environment.ExitCode = UnauthorizedExitCode;
        lifetime.StopApplication();
    }
}
