using ChatStats.Bot.Commands;
using ChatStats.Telegram;
using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Types;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Telegram;

/// <summary>
/// The bot role: learns who it is (getMe), makes sure no webhook steals the updates, publishes its commands, then polls.
/// A rejected token stops the process with exit code 3 and a line saying what to do.
/// </summary>
internal sealed class BotService(
    BotApiClient client,
    LongPoller poller,
    BotIdentity identity,
    IServiceProvider services,
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
            var me = await RetryAsync("getMe", ct => client.GetMeAsync(ct), stoppingToken);
            identity.Set(me);
            logger.LogInformation("Running as @{Username} ({BotId})", me.Username, me.Id);
            await RetryAsync("deleteWebhook", ct => client.DeleteWebhookAsync(false, ct), stoppingToken);
            if (options.Value.SetCommandsOnStart)
            {
                await PublishCommandsAsync(stoppingToken);
            }
            await poller.RunAsync(stoppingToken);
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
        using var scope = services.CreateScope();
        var commands = scope.ServiceProvider.GetServices<IBotCommand>().ToList();
        foreach (var language in Localizer.Supported)
        {
            var culture = System.Globalization.CultureInfo.GetCultureInfo(language);
            var list = commands.Select(c => new BotCommand(c.Name, Localizer.Get(c.DescriptionKey, culture))).ToList();
            try
            {
                await client.SetMyCommandsAsync(list, language == "en" ? null : language, ct);
            }
            catch (BotApiException ex) when (ex.ErrorCode != 401)
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
            catch (BotApiException ex) when (ex.ErrorCode is 401 or 404)
            {
                throw new BotUnauthorizedException(
                    $"Telegram rejected the bot token on {what} ({ex.ErrorCode} {ex.Description}). Check TELEGRAM_BOT_TOKEN / Telegram:BotToken; @BotFather's /token shows the current one.");
            }
            catch (BotApiException ex)
            {
                var delay = ex.RetryAfter ?? Backoff.Default.Delay(attempt);
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
