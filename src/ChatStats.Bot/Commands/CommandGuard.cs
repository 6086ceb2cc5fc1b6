using ChatStats.Bot.Data;
using ChatStats.Bot.Throttling;
using ChatStats.Throttling.Concurrency;
using ChatStats.Throttling.LoadShedding;
using ChatStats.Throttling.RateLimits;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Commands;

/// <summary>What the guard decided: go ahead (holding a concurrency slot), or stop, with a notice or in silence.</summary>
internal sealed record GuardVerdict(bool Allowed, string? Notice, IDisposable? Lease)
{
    public static readonly GuardVerdict Silent = new(false, null, null);
}

/// <summary>
/// Runs in front of every command, in order: the chat's policy for the command (enabled, admin-only, disabled), the
/// per-user command limit, the per-user limit on heavy statistics, the chat's tier, and the concurrency limiter. A
/// refused command never reaches its handler. The person hears why and for how long, once per window.
/// </summary>
internal sealed class CommandGuard(CommandLimiters limiters, ChatAdmins admins, LoadMonitor load, DailyQuota quota, IOptions<LimitsOptions> options, TimeProvider time)
{
    public async Task<GuardVerdict> CheckAsync(CommandContext context, IBotCommand command, ChatSettings? chatSettings, CancellationToken ct)
    {
        var message = context.Message;
        // An anonymous admin or a channel acts as the chat it speaks for.
        var sender = message.SenderChat?.Id ?? message.From?.Id ?? 0;

        switch ((chatSettings ?? ChatSettings.Default).PolicyOf(command.Name))
        {
            case CommandPolicy.Disabled:
                return await RefuseAsync(context, sender, "CommandDisabled", command.Name);
            case CommandPolicy.Admin when message.SenderChat?.Id != message.Chat.Id:
                var isAdmin = await admins.IsAdminAsync(message.Chat.Id, sender, ct);
                if (isAdmin is null)
                {
                    return await RefuseAsync(context, sender, "AdminCheckFailed");
                }
                if (isAdmin == false)
                {
                    return await RefuseAsync(context, sender, "CommandAdminOnly", command.Name);
                }
                break;
        }

        if (!options.Value.Enabled)
        {
            return await QuotaAsync(context, command, sender, null, ct);
        }
        // Under critical load heavy statistics wait, before they spend anyone's allowance; ingest is never shed.
        if (command.IsHeavy && LoadSheddingService.ShedHeavy(load))
        {
            return await RefuseAsync(context, sender, "LimitOverloaded", Wait((int)load.SuggestedRetryAfter.TotalSeconds, context));
        }
        if (await limiters.Commands.TryAcquireAsync(sender) is { Allowed: false } commands)
        {
            return await RefuseAsync(context, sender, "LimitCommands", Wait(commands.RetryAfterSeconds, context));
        }
        if (command.IsHeavy && await limiters.Heavy.TryAcquireAsync(sender) is { Allowed: false } heavy)
        {
            var o = options.Value;
            return await RefuseAsync(context, sender, "LimitHeavy", Wait(heavy.RetryAfterSeconds, context), o.HeavyPerUser, Wait(o.HeavyWindowSeconds, context));
        }
        if (context.IsGroup && await limiters.Tiers.TryAcquireAsync(message.Chat.Id) is { Allowed: false } tier)
        {
            return await RefuseAsync(context, sender, "LimitTier", Wait(tier.RetryAfterSeconds, context));
        }
        IDisposable lease;
        try
        {
            lease = await limiters.Resources.AcquireAsync(sender, ct);
        }
        catch (OverloadException ex)
        {
            return await RefuseAsync(context, sender, "LimitBusy", Wait(ex.RetryAfterSeconds, context));
        }
        return await QuotaAsync(context, command, sender, lease, ct);
    }

    /// <summary>Last, once everything else said yes: a unit of the chat's daily quota, so a refusal above never spends one.</summary>
    private async Task<GuardVerdict> QuotaAsync(CommandContext context, IBotCommand command, long sender, IDisposable? lease, CancellationToken ct)
    {
        if (!command.UsesDailyQuota)
        {
            return new GuardVerdict(true, null, lease);
        }
        QuotaDecision decision;
        try
        {
            decision = await quota.TryConsumeAsync(context.ChatId, context.Chat?.Zone, ct);
        }
        catch
        {
            lease?.Dispose();
            throw;
        }
        if (decision.Allowed)
        {
            return new GuardVerdict(true, null, lease);
        }
        lease?.Dispose();
        var local = TimeZoneInfo.ConvertTime(decision.ResetsAt, decision.Zone);
        var wait = (int)Math.Ceiling((decision.ResetsAt - time.GetUtcNow()).TotalSeconds);
        return await RefuseAsync(context, sender, "QuotaExhausted", decision.Limit, local.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), decision.Zone.Id, Wait(wait, context));
    }

    private async Task<GuardVerdict> RefuseAsync(CommandContext context, long sender, string key, params object?[] args)
    {
        // A chat's own policy (disabled, admin-only) is not a limit; everything after it is.
        if (key is not ("CommandDisabled" or "CommandAdminOnly" or "AdminCheckFailed"))
        {
            limiters.RefusedUsers.Add(sender);
            limiters.RefusedChats.Add(context.Message.Chat.Id);
        }
        return await limiters.Notices.ShouldNotifyAsync(sender) ? new GuardVerdict(false, context.T(key, args), null) : GuardVerdict.Silent;
    }

    /// <summary>"42 s", "5 min": what a person wants to read.</summary>
    internal static string Wait(int seconds, CommandContext context) => seconds switch
    {
        < 120 => context.T("WaitSeconds", Math.Max(1, seconds)),
        < 7_200 => context.T("WaitMinutes", (int)Math.Ceiling(seconds / 60.0)),
        _ => context.T("WaitHoursMinutes", seconds / 3600, (int)Math.Ceiling(seconds % 3600 / 60.0)),
    };
}
