using ChatStats.Bot.Data;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Telegram;
using ChatStats.Bot.Throttling;
using ChatStats.Telegram.Sending;
using ChatStats.Throttling.Concurrency;
using Microsoft.Extensions.Options;
using Npgsql;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Summaries;

/// <summary>What a summary is asked for: the chat, the period, and how the model should write.</summary>
internal sealed record SummaryRequest(long ChatId, string Title, TimeZoneInfo Zone, Period Period, string PeriodLabel, string LanguageName, int Words);

/// <summary>
/// /summary [period]: what the chat talked about — by the configured model behind the AI gate, or computed here when
/// there is none (or it is failing, busy, or the chat's AI budget for the day is spent). Without a period: since the
/// chat's last summary, at most a day back. A heavy command: the per-user heavy limit and a unit of the chat's daily
/// quota apply (the guard takes the unit last; it is given back when no summary is made). The work runs in the
/// background (<see cref="SummaryRunner"/>), so a slow model never holds up the chat's other commands.
/// </summary>
internal sealed class SummaryCommand(StatsSupport stats, SummaryRunner runner, DailyQuota quota, IOptions<PrivacyOptions> privacy) : IBotCommand
{
    public string Name => "summary";
    public string DescriptionKey => "CommandSummary";
    public bool IsHeavy => true;
    public bool UsesDailyQuota => true;
    public bool ChatWide => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        var started = false;
        try
        {
            if (await stats.PrepareAsync(context, "Usage_summary", ct) is not { } request)
            {
                return;
            }
            if (request.Rest.Count > 0)
            {
                await stats.BadArgumentAsync(context, request.Rest[0], "Usage_summary", ct);
                return;
            }
            if (!privacy.Value.StoreText || !request.Chat.StoreText)
            {
                await stats.Replies.SendAsync(context, context.T(privacy.Value.StoreText ? "SummaryNoTextChat" : "SummaryNoTextBot"), ct);
                return;
            }
            var sincePrevious = string.IsNullOrWhiteSpace(context.Command.Arguments);
            runner.Start(context, request.Chat, sincePrevious ? null : request.Period);
            started = true;
        }
        finally
        {
            if (!started)
            {
                // Refused before any work: the unit the guard took goes back.
                await quota.RefundAsync(context.ChatId, context.Chat?.Zone, CancellationToken.None);
            }
        }
    }
}

/// <summary>
/// Runs summaries off the update handlers, each to its end: the answer, or (when it fails, or the process stops) a
/// message saying so and the quota unit given back. Stopping cancels what is running and waits for it briefly.
/// </summary>
internal sealed class SummaryRunner(IServiceScopeFactory scopes, ILogger<SummaryRunner> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<int, Task> _running = new();
    private int _next;

    public int Running => _running.Count;

    public void Start(CommandContext context, ChatInfo chat, Period? period)
    {
        var id = Interlocked.Increment(ref _next);
        var task = Task.Run(async () =>
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<SummaryService>().RunAsync(context, chat, period, _stopping.Token);
        });
        _running[id] = task;
        task.ContinueWith(t =>
        {
            _running.TryRemove(id, out _);
            if (t.Exception is { } ex)
            {
                logger.LogError(ex.GetBaseException(), "/summary in chat {ChatId} failed", chat.Id);
            }
        }, TaskScheduler.Default);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_running.Values).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or AggregateException or InvalidOperationException)
        {
            // Each one has told its chat, or could not: the process is going either way.
        }
    }
}

/// <summary>One summary from the question to the answer.</summary>
internal sealed class SummaryService(
    SummarySource source,
    AiClient ai,
    AiSummarizer summarizer,
    CommandLimiters limiters,
    DailyQuota quota,
    Replies replies,
    MessageSender sender,
    NpgsqlDataSource dataSource,
    TimeProvider time,
    ILogger<SummaryService> logger)
{
    /// <summary>The longest a summary without a period looks back.</summary>
    public static readonly TimeSpan MaxSincePrevious = TimeSpan.FromHours(24);

    public async Task RunAsync(CommandContext context, ChatInfo chat, Period? asked, CancellationToken ct)
    {
        using var typing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var typingLoop = TypingAsync(context, typing.Token);
        var (sent, refunded) = (false, false);
        try
        {
            var period = asked ?? await SincePreviousAsync(chat, ct);
            var label = Formats.Describe(period, context.Culture);
            var lines = await source.ReadAsync(chat.Id, period, ct);
            if (lines.Count == 0)
            {
                await quota.RefundAsync(chat.Id, chat.Zone, CancellationToken.None);
                refunded = true;
                await replies.SendAsync(context, context.T("SummaryNothing", Html.Escape(label)), ct);
                sent = true;
                return;
            }
            var notes = new List<string>();
            if (lines.Count == SummarySource.MaxLines)
            {
                notes.Add(context.T("SummaryLatestOnly", SummaryText.Number(lines.Count, context.Culture), Html.Escape(Formats.Local(lines[0].At, chat.Zone, context.Culture))));
            }
            var request = new SummaryRequest(chat.Id, chat.Title ?? "", chat.Zone, period, label, context.Culture.EnglishName, 350);
            string? body = null;
            var (reason, allowance) = await summarizer.ReadinessAsync(chat.Id, chat.Zone, ct);
            if (reason is null)
            {
                (body, reason) = await AskModelAsync(context, request, lines, allowance, notes, ct);
            }
            if (body is null)
            {
                var digest = await source.DigestAsync(chat.Id, period, lines, ct);
                body = SummaryText.Offline(digest, context);
                notes.Add(SummaryText.OfflineNote(reason!, context.Culture));
            }
            SummaryMetrics.Summaries.Add(1, new KeyValuePair<string, object?>("kind", reason is null ? "ai" : "offline"),
                new KeyValuePair<string, object?>("reason", reason ?? "none"));
            await typing.CancelAsync();
            await replies.SendAsync(context, SummaryText.Message(context.T("SummaryTitle", Html.Escape(label)), body, notes), ct);
            sent = true;
            await RememberAsync(chat.Id, period.To, ct);
        }
        catch (Exception ex) when (!sent)
        {
            // No summary: the unit goes back, and the chat hears it (unless it is the process stopping and Telegram is
            // out of reach too).
            await typing.CancelAsync();
            logger.Log(ct.IsCancellationRequested ? LogLevel.Information : LogLevel.Error, ex, "/summary in chat {ChatId} failed", chat.Id);
            try
            {
                if (!refunded)
                {
                    await quota.RefundAsync(chat.Id, chat.Zone, CancellationToken.None);
                }
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await replies.SendAsync(context, context.T(ct.IsCancellationRequested ? "SummaryInterrupted" : "SummaryFailed"), patience.Token);
            }
            catch (Exception notice) when (notice is not OutOfMemoryException)
            {
                logger.LogWarning("Could not tell chat {ChatId} that /summary failed: {Error}", chat.Id, notice.Message);
            }
        }
        finally
        {
            await typing.CancelAsync();
            await typingLoop;
        }
    }

    /// <summary>The model's summary, or why there is none: a place at the AI gate first (the chat told its place when it waits).</summary>
    private async Task<(string? Body, string? Reason)> AskModelAsync(CommandContext context, SummaryRequest request, List<ChatLine> lines, long allowance,
        List<string> notes, CancellationToken ct)
    {
        var gate = limiters.Ai;
        if (gate.Load is var (running, waiting, capacity) && running >= capacity)
        {
            await replies.SendAsync(context, context.T("SummaryQueued", waiting + 1), ct);
        }
        var waited = Stopwatch.GetTimestamp();
        ResourceLimiter<int>.Lease lease;
        try
        {
            lease = await gate.EnterAsync(ct);
        }
        catch (OverloadException)
        {
            return (null, "busy");
        }
        finally
        {
            SummaryMetrics.GateWait.Record(Stopwatch.GetElapsedTime(waited).TotalSeconds);
        }
        using (lease)
        {
            try
            {
                var summary = await summarizer.SummarizeAsync(request, lines, allowance, ct);
                notes.Add(SummaryText.BasedOn(summary, lines, ai.Model, context.Culture));
                return (SummaryText.FromModel(summary.Text), null);
            }
            catch (AiUnavailableException ex)
            {
                logger.LogWarning("The AI provider gave no summary for chat {ChatId} ({Reason}): {Detail}", request.ChatId, ex.Reason, ex.InnerException?.Message ?? ex.Message);
                return (null, ex.Reason);
            }
        }
    }

    private async Task<Period> SincePreviousAsync(ChatInfo chat, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var cmd = dataSource.CreateCommand("SELECT last_summary_to FROM chat_summary_state WHERE chat_id = @chat").With("chat", chat.Id);
        var last = await cmd.ExecuteScalarAsync(ct) is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : (DateTimeOffset?)null;
        var from = last is { } l && l > now - MaxSincePrevious && l < now ? l : now - MaxSincePrevious;
        return new Period("since-last", from, now, chat.Zone);
    }

    private async Task RememberAsync(long chatId, DateTimeOffset to, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO chat_summary_state (chat_id, last_summary_to) VALUES (@chat, @to)
            ON CONFLICT (chat_id) DO UPDATE SET last_summary_to = greatest(chat_summary_state.last_summary_to, excluded.last_summary_to)
            """).With("chat", chatId).With("to", to < time.GetUtcNow() ? to : time.GetUtcNow());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>"typing…" every four seconds (Telegram shows it for five) until the answer goes.</summary>
    private async Task TypingAsync(CommandContext context, CancellationToken ct)
    {
        var message = context.Message;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await sender.ShowTypingAsync(message.Chat.Id, message.TopicId(), ct);
                await Task.Delay(TimeSpan.FromSeconds(4), time, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
