using System.CommandLine;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Telegram;
using ChatStats.Bot.Web;
using ChatStats.Telegram;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Cli;

/// <summary><c>chatstats doctor</c>: one line per check, each failure saying what to do.</summary>
internal static class DoctorCommand
{
    private static readonly (string Binary, string Package, string UsedFor)[] Binaries =
    [
        ("weasyprint", "weasyprint", "PDF reports"),
        ("pdftotext", "poppler-utils", "reading PDFs back in tests"),
    ];

    public static Command Build()
    {
        var command = new Command("doctor", "Check settings, database, migrations, the bot token and external programs.");
        command.SetAction(async (parse, ct) => await RunAsync(Console.Out, ct));
        return command;
    }

    public static async Task<int> RunAsync(TextWriter output, CancellationToken ct)
    {
        var failures = 0;
        void Line(bool ok, string check, string detail, bool warnOnly = false)
        {
            var mark = ok ? "ok  " : warnOnly ? "warn" : "FAIL";
            if (!ok && !warnOnly)
            {
                failures++;
            }
            output.WriteLine($"{mark} {check,-12} {detail}");
        }

        using var host = AppHost.BuildForChecks([]);
        var settingsOk = true;
        foreach (var failure in Validate<TelegramOptions>(host).Concat(Validate<DatabaseOptions>(host)).Concat(Validate<IngestOptions>(host))
                     .Concat(Validate<WebOptions>(host)).Concat(Validate<PrivacyOptions>(host)).Concat(Validate<Throttling.LimitsOptions>(host)).Concat(Validate<Jobs.JobsOptions>(host))
                     .Concat(Validate<Summaries.AiOptions>(host))
                     .Concat(Validate<SenderOptions>(host)).Concat(Validate<Scaling.RedisOptions>(host)).Concat(Validate<MetricsOptions>(host)))
        {
            Line(false, "settings", failure);
            settingsOk = false;
        }
        if (settingsOk)
        {
            Line(true, "settings", "all sections valid");
        }

        DatabaseOptions? db = null;
        try
        {
            db = host.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        }
        catch (OptionsValidationException)
        {
            Line(false, "database", "not checked: fix Database settings first");
        }
        if (db is not null)
        {
            var where = DatabaseUrl.Describe(db.ConnectionString);
            try
            {
                var dataSource = host.Services.GetRequiredService<NpgsqlDataSource>();
                await using var cmd = dataSource.CreateCommand("SHOW server_version");
                var version = await cmd.ExecuteScalarAsync(ct);
                Line(true, "database", $"PostgreSQL {version} at {where}; pool max {db.MaxPoolSize}, timeout {db.ConnectionTimeoutSeconds} s, lifetime {db.ConnectionLifetimeSeconds} s");
                var status = await host.Services.GetRequiredService<DatabaseMigrator>().GetStatusAsync(ct);
                Line(status.Pending.Count == 0, "migrations", status.Pending.Count == 0
                    ? $"{status.Applied.Count} applied, none pending"
                    : $"{status.Pending.Count} pending ({string.Join(", ", status.Pending)}): run 'chatstats migrate'");
                if (status.Pending.Count == 0)
                {
                    await CheckWorkersAsync(host, Line, ct);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                Line(false, "database", $"cannot connect to {where}: {ex.Message}. Is PostgreSQL running? deploy/dev.sh run starts a local one.");
                Line(false, "migrations", "not checked: no database");
            }
            catch (InvalidOperationException ex)
            {
                Line(false, "migrations", ex.Message);
            }
        }

        try
        {
            var client = host.Services.GetRequiredService<ITelegramBotClient>();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            var me = await client.GetMe(timeout.Token);
            Line(true, "token", $"@{me.Username} ({me.Id})");
            await CheckReceivingAsync(client, host.Services.GetRequiredService<IOptions<TelegramOptions>>().Value, Line, timeout.Token);
        }
        catch (OptionsValidationException)
        {
            Line(false, "token", "not checked: fix Telegram settings first");
        }
        catch (RequestException ex) when (ex.IsUnauthorized())
        {
            Line(false, "token", "Telegram rejected the token: copy it again from @BotFather (/token) into TELEGRAM_BOT_TOKEN");
        }
        catch (RequestException ex)
        {
            var url = host.Services.GetRequiredService<IOptions<TelegramOptions>>().Value.ApiBaseUrl;
            Line(false, "token", $"could not reach {url}: {ex.Message}. Check the network or TELEGRAM_API_BASE_URL.");
        }

        await CheckAiAsync(host, Line, ct);

        try
        {
            var limits = host.Services.GetRequiredService<IOptions<Throttling.LimitsOptions>>().Value;
            var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            var recommended = RecommendedMaxActiveChats(memory);
            var gb = memory / (1024.0 * 1024 * 1024);
            var configured = limits.MaxActiveChats == 0 ? "no cap" : limits.MaxActiveChats.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Line(limits.MaxActiveChats != 0 && limits.MaxActiveChats <= recommended, "capacity",
                $"Limits:MaxActiveChats {configured}; this machine has {gb:0.#} GB, recommended {recommended}"
                + (limits.MaxActiveChats == 0 || limits.MaxActiveChats > recommended ? $" (set LIMITS_MAX_ACTIVE_CHATS={recommended})" : ""), warnOnly: true);
        }
        catch (OptionsValidationException)
        {
            Line(false, "capacity", "not checked: fix Limits settings first");
        }

        // What the kernel and the runtime enforce for this process (under deploy/chatstats-run, the role's own limits).
        foreach (var (ok, name, detail) in Throttling.ProcessLimits.Read().Describe())
        {
            Line(ok, name, detail, warnOnly: true);
        }

        // Charts are drawn in process: what matters is that SkiaSharp's native library loads (it needs libfontconfig).
        var skia = Charts.ChartRenderer.NativeProblem;
        Line(skia is null, "charts", skia is null ? "PNG charts drawn in process (SkiaSharp)"
            : $"SkiaSharp cannot load ({skia}): charts come as text; apt-get install libfontconfig1", warnOnly: true);
        foreach (var (binary, package, usedFor) in Binaries)
        {
            var path = ProgramPath.Find(binary);
            Line(path is not null, binary, path ?? $"missing, needed for {usedFor}: apt-get install {package}", warnOnly: true);
        }
        foreach (var (language, script, package) in new[] { ("ru", "Cyrillic", "fonts-dejavu-core"), ("zh", "Chinese, Japanese and Korean", "fonts-droid-fallback") })
        {
            var font = await FontForAsync(language, ct);
            Line(font is not null, "fonts", font is null ? $"no font for {script} names in charts and reports: apt-get install {package}" : $"{script}: {font}", warnOnly: true);
        }

        output.WriteLine(failures == 0 ? "All required checks passed." : $"{Terminal.Count(failures, "check")} failed.");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// The model behind /summary: a request of a few tokens, and what to change when it fails. A key or a model the
    /// provider does not know is a failure; an outage or a rate limit only a warning (/summary answers offline meanwhile).
    /// </summary>
    private static async Task CheckAiAsync(IHost host, Action<bool, string, string, bool> line, CancellationToken ct)
    {
        Summaries.AiOptions o;
        try
        {
            o = host.Services.GetRequiredService<IOptions<Summaries.AiOptions>>().Value;
        }
        catch (OptionsValidationException)
        {
            line(false, "ai", "not checked: fix Ai settings first", false);
            return;
        }
        if (!o.Configured)
        {
            line(true, "ai", "no model configured (Ai:Endpoint, OPENAI_BASE_URL): /summary answers with the summary computed here", false);
            return;
        }
        var chat = host.Services.GetRequiredService<Summaries.AiClient>().Chat!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(Math.Min(60, o.TotalTimeoutSeconds)));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await chat.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "Reply with the word OK.")],
                new Microsoft.Extensions.AI.ChatOptions { MaxOutputTokens = 5 }, timeout.Token);
            line(true, "ai", $"{o.Model} at {o.Endpoint} answered in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:N0} ms", false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && (timeout.IsCancellationRequested || Summaries.AiSummarizer.Classify(ex) is not null))
        {
            var problem = Summaries.AiSummarizer.Classify(ex);
            var reason = problem?.Reason ?? "timeout";
            var (fatal, hint) = reason switch
            {
                "http_401" or "http_403" => (true, "check Ai:ApiKey (OPENAI_API_KEY)"),
                "http_404" => (true, "check that Ai:Endpoint is the API's base (often ending in /v1) and that Ai:Model (OPENAI_MODEL) names a model it serves"),
                "http_400" => (true, "the provider refused the request: check Ai:Model (OPENAI_MODEL)"),
                "unreachable" => (false, "is the server running, and is Ai:Endpoint (OPENAI_BASE_URL) right?"),
                "rate_limited" => (false, "the key's rate limit or quota is reached"),
                "timeout" => (false, "the model did not answer in time: a local model may still be loading"),
                _ => (false, "/summary answers offline while this lasts"),
            };
            line(false, "ai", $"{o.Model} at {o.Endpoint}: {problem?.Message ?? "no answer in time"}; {hint}", !fatal);
        }
    }

    /// <summary>
    /// Each queue's workers: a ping sent down it and the time a worker took to start it. A warning only: doctor often
    /// runs before the services are started.
    /// </summary>
    private static async Task CheckWorkersAsync(IHost host, Action<bool, string, string, bool> line, CancellationToken ct)
    {
        try
        {
            var ping = host.Services.GetRequiredService<Jobs.JobsPing>();
            foreach (var queue in host.Services.GetRequiredService<IOptions<Jobs.JobsOptions>>().Value.Queues.Keys.Order(StringComparer.Ordinal))
            {
                var result = await ping.PingAsync(queue, TimeSpan.FromSeconds(10), ct);
                line(result.Ok, "workers", $"{queue}: {result.Detail}", true);
            }
        }
        catch (OptionsValidationException)
        {
            line(false, "workers", "not checked: fix Jobs settings first", true);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            line(false, "workers", $"not checked: {ex.Message}", true);
        }
    }

    /// <summary>
    /// Active groups a machine of this memory serves comfortably, from the system-limits guide's table for bots:
    /// 2 GB → 50, 4 GB → 150, 8 GB → 300, 16 GB → 500 (the guide stops there; beyond it we keep 500 per 16 GB).
    /// </summary>
    internal static int RecommendedMaxActiveChats(long memoryBytes)
    {
        var gb = memoryBytes / (1024.0 * 1024 * 1024);
        return gb switch
        {
            < 1.5 => 20,
            < 3 => 50,
            < 6 => 150,
            < 12 => 300,
            < 24 => 500,
            _ => (int)(500 * Math.Floor(gb / 16)),
        };
    }

    private static IEnumerable<string> Validate<T>(IHost host) where T : class
    {
        try
        {
            _ = host.Services.GetRequiredService<IOptions<T>>().Value;
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return ex.Failures;
        }
    }

    /// <summary>The first font fontconfig has for a language, or null (also when fontconfig itself is missing).</summary>
    private static async Task<string?> FontForAsync(string language, CancellationToken ct)
    {
        if (ProgramPath.Find("fc-list") is not { } fcList)
        {
            return null;
        }
        try
        {
            var result = await Charts.ChildProcess.RunAsync(fcList, [$":lang={language}", "family"], [], TimeSpan.FromSeconds(10), ct);
            var first = System.Text.Encoding.UTF8.GetString(result.Output).Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            return first?.Split(',')[0].Trim();
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception or IOException)
        {
            return null;
        }
    }

    /// <summary>What Telegram says about the webhook, against the mode the settings ask for.</summary>
    private static async Task CheckReceivingAsync(ITelegramBotClient client, TelegramOptions options, Action<bool, string, string, bool> line, CancellationToken ct)
    {
        var info = await client.GetWebhookInfo(ct);
        if (options.Mode == TelegramMode.Polling)
        {
            line(true, "receiving", string.IsNullOrEmpty(info.Url)
                ? "polling (no webhook set)"
                : $"polling; the webhook {info.Url} is still set and will be removed when the bot starts", false);
            return;
        }
        if (!string.Equals(info.Url, options.WebhookUrl, StringComparison.Ordinal))
        {
            line(false, "receiving", string.IsNullOrEmpty(info.Url)
                ? $"webhook mode, but Telegram has no webhook yet: the bot sets {options.WebhookUrl} when it starts"
                : $"webhook mode, but Telegram posts to {info.Url}; the bot sets {options.WebhookUrl} when it starts", true);
            return;
        }
        var pending = info.PendingUpdateCount > 0 ? $", {info.PendingUpdateCount} updates waiting" : "";
        if (info.LastErrorMessage is { Length: > 0 } error && info.LastErrorDate is { } when)
        {
            line(false, "receiving", $"webhook {info.Url}{pending}; Telegram's last delivery error ({when:u}): {error}. " +
                "Check that the URL reaches the web role (proxy, TLS certificate, firewall).", true);
            return;
        }
        line(true, "receiving", $"webhook {info.Url}{pending}", false);
    }
}
