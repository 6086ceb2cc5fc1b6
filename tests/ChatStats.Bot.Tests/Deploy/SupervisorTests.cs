using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Deploy;

/// <summary>
/// deploy/supervisor/chatstats.conf's [program:*] sections as shipped, under Debian's real supervisord: only paths,
/// ports, the user and the secrets file are changed, in a temporary configuration around them. All roles reach
/// RUNNING under their limits, a killed role is restarted, exit codes 2, 3 and 4 stay down, and a stop ends every
/// role by SIGTERM inside its stop timeout. The systemd units pass systemd-analyze verify.
/// </summary>
public sealed partial class SupervisorTests : IAsyncLifetime
{
    private static readonly string Root = Tools.RepositoryRoot;
    private readonly PostgresDatabase _db = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("chatstats-supervisor");
    private FakeBotApi _api = null!;
    private Process? _supervisord;
    private string _conf = "";

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_supervisord is { HasExited: false })
        {
            await CtlAsync("shutdown");
            if (!_supervisord.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                _supervisord.Kill(entireProcessTree: true);
            }
        }
        _supervisord?.Dispose();
        await _api.DisposeAsync();
        await _db.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task TheShippedProgramsRunUnderRealSupervisordWithTheirLimitsRestartAfterACrashAndStopCleanly()
    {
        var webPort = Tools.FreePort();
        var botPort = Tools.FreePort();
        var workerPort = Tools.FreePort();
        var empty = await PostgresServer.CreateEmptyDatabaseAsync("supervisor-behind");
        try
        {
            await StartSupervisordAsync(webPort, botPort, workerPort, empty);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

            // Every role RUNNING and answering: the web role on Web:Urls, bot and worker on their Metrics:Port.
            await Eventually.TrueAsync(async () => (await StatusAsync()).Count(s => s.Value.StartsWith("RUNNING", StringComparison.Ordinal)) == 3, "three roles RUNNING", TimeSpan.FromSeconds(90));
            var bot = await ScrapeAsync(http, botPort, "chatstats_load_level");
            var worker = await ScrapeAsync(http, workerPort, "chatstats_jobs_servers");
            Assert.Contains("live", await GetWhenUpAsync(http, $"http://127.0.0.1:{webPort}/health/live", "live"));

            // The limits hold: the kernel's (a cgroup the wrapper made), or at least the .NET heap's, and the log says which.
            var botLog = await File.ReadAllTextAsync(Path.Combine(_dir.FullName, "logs", "bot.log"));
            var limit = Gauge(bot, "chatstats_process_memory_limit_bytes");
            if (botLog.Contains("limits enforced by", StringComparison.Ordinal))
            {
                Assert.Equal(512 * 1024 * 1024, limit);
                Assert.Equal(0.5, Gauge(worker, "chatstats_process_cpu_limit"));
            }
            else
            {
                Assert.Contains("WARNING: CPU and memory limits are NOT enforced by the kernel", botLog);
                Assert.Equal(512 * 1024 * 1024 / 4 * 3, limit);
            }
            var pid = int.Parse((await CtlAsync("pid", "chatstats:chatstats-bot")).Output.Trim(), CultureInfo.InvariantCulture);
            Assert.Contains("DOTNET_GCHeapHardLimit=0x18000000", (await File.ReadAllTextAsync($"/proc/{pid}/environ")).Split('\0'));
            Assert.EndsWith("chatstats.dll\0bot\0", await File.ReadAllTextAsync($"/proc/{pid}/cmdline"));

            // A crash (the kernel's OOM killer sends SIGKILL too) is restarted.
            Process.GetProcessById(pid).Kill();
            await Eventually.TrueAsync(async () => (await StatusAsync())["chatstats:chatstats-bot"] is var s && s.StartsWith("RUNNING", StringComparison.Ordinal)
                && !s.Contains($"pid {pid},", StringComparison.Ordinal), "the bot to be restarted", TimeSpan.FromSeconds(60));
            await ScrapeAsync(http, botPort, "chatstats_load_level");

            // Bad settings (2), a token Telegram rejects (3), a schema behind (4): down, and staying down.
            foreach (var program in new[] { "bad-settings", "bad-token", "behind" })
            {
                await CtlAsync("start", $"chatstats-{program}");
            }
            string Log() => File.ReadAllText(Path.Combine(_dir.FullName, "supervisord.log"));
            try
            {
                await Eventually.TrueAsync(() => Task.FromResult(ExitedExpected().Count(Log()) == 3), "the three to exit", TimeSpan.FromSeconds(90));
            }
            catch (TimeoutException)
            {
                var logs = string.Join("\n", Directory.GetFiles(Path.Combine(_dir.FullName, "logs")).Select(f => $"== {f}\n{File.ReadAllText(f)[^Math.Min(3000, File.ReadAllText(f).Length)..]}"));
                throw new TimeoutException($"the three did not exit as expected:\n{Log()}\n{logs}");
            }
            await Task.Delay(TimeSpan.FromSeconds(3));
            var status = await StatusAsync();
            var log = Log();
            Assert.Contains("exited: chatstats-bad-settings (exit status 2; expected)", log);
            Assert.Contains("exited: chatstats-bad-token (exit status 3; expected)", log);
            Assert.Contains("exited: chatstats-behind (exit status 4; expected)", log);
            Assert.All(new[] { "chatstats-bad-settings", "chatstats-bad-token", "chatstats-behind" }, p => Assert.StartsWith("EXITED", status[p]));
            Assert.Equal(3, ExitedExpected().Count(log));

            // A stop is SIGTERM, and every role ends by itself (exit status 0) well inside stopwaitsecs.
            var stopping = Stopwatch.StartNew();
            var stop = await CtlAsync("stop", "chatstats:*");
            stopping.Stop();
            log = Log();
            Assert.True(stop.ExitCode == 0, stop.ToString());
            Assert.Contains("stopped: chatstats-bot (exit status 0)", log);
            Assert.Contains("stopped: chatstats-worker (exit status 0)", log);
            Assert.Contains("stopped: chatstats-web (exit status 0)", log);
            Assert.DoesNotContain("with SIGKILL", log);
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(30), $"stopping took {stopping.Elapsed}");
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(empty);
        }
    }

    [Fact]
    public async Task TheSystemdUnitsPassSystemdAnalyzeVerify()
    {
        var analyze = Tools.Find("systemd", "systemd-analyze");
        foreach (var unit in Directory.GetFiles(Path.Combine(Root, "deploy", "systemd"), "*.service"))
        {
            var verify = await Tools.RunAsync(analyze, ["verify", "--man=no", unit]);

            // systemd-analyze ignores a line it cannot parse with a warning and exit 0: any output is a fault.
            Assert.True(verify.ExitCode == 0 && verify.Output.Length == 0 && verify.Error.Length == 0, $"{Path.GetFileName(unit)}: {verify}");
        }
    }

    /// <summary>The shipped programs with this machine's paths, ports and secrets, plus three copies of the bot that must stay down.</summary>
    private async Task StartSupervisordAsync(int webPort, int botPort, int workerPort, string emptyDatabase)
    {
        var dir = _dir.FullName;
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        File.CreateSymbolicLink(Path.Combine(dir, "app"), Path.Combine(Root, "src", "ChatStats.Bot", "bin", "Release", "net10.0"));
        var envFile = Path.Combine(dir, "chatstats.env");
        await File.WriteAllLinesAsync(envFile, [
            $"TELEGRAM_BOT_TOKEN={FakeBotApi.Token}",
            $"Telegram__ApiBaseUrl={_api.BaseUrl}",
            $"Database__ConnectionString=\"{_db.ConnectionString}\"",
            $"Web__Urls=http://127.0.0.1:{webPort}",
            "Logging__LogLevel__Default=Information",
        ]);
        var user = Environment.UserName;
        var shipped = (await File.ReadAllTextAsync(Path.Combine(Root, "deploy", "supervisor", "chatstats.conf")))
            .Replace("/opt/chatstats/app/chatstats-run", Path.Combine(Root, "deploy", "chatstats-run"), StringComparison.Ordinal)
            .Replace("/opt/chatstats", dir, StringComparison.Ordinal)
            .Replace("/etc/chatstats/chatstats.env", envFile, StringComparison.Ordinal)
            .Replace("--user chatstats", $"--user {user}", StringComparison.Ordinal)
            .Replace("Metrics__Port=\"9101\"", $"Metrics__Port=\"{botPort}\"", StringComparison.Ordinal)
            .Replace("Metrics__Port=\"9102\"", $"Metrics__Port=\"{workerPort}\"", StringComparison.Ordinal);
        Assert.DoesNotContain("/opt/chatstats", shipped);
        var bot = BotSection().Match(shipped).Value;
        // Each copy has its own secrets file: the wrapper loads the file after supervisor's environment= (as deployed).
        async Task<string> CopyAsync(string name, string setting, string? command = null)
        {
            var env = Path.Combine(dir, $"{name}.env");
            await File.WriteAllLinesAsync(env, [.. (await File.ReadAllLinesAsync(envFile)).Where(l => !l.StartsWith(setting.Split('=')[0] + "=", StringComparison.Ordinal)), setting]);
            return bot
                .Replace("[program:chatstats-bot]", $"[program:chatstats-{name}]", StringComparison.Ordinal)
                .Replace("autostart=true", "autostart=false", StringComparison.Ordinal)
                .Replace("logs/bot.log", $"logs/{name}.log", StringComparison.Ordinal)
                .Replace(envFile, env, StringComparison.Ordinal)
                .Replace($"Metrics__Port=\"{botPort}\"", "Metrics__Port=\"0\"", StringComparison.Ordinal)
                .Replace(" bot\n", command ?? " bot\n", StringComparison.Ordinal);
        }
        _conf = Path.Combine(dir, "supervisord.conf");
        await File.WriteAllTextAsync(_conf, $"""
            [unix_http_server]
            file={dir}/supervisor.sock

            [supervisord]
            logfile={dir}/supervisord.log
            pidfile={dir}/supervisord.pid
            childlogdir={dir}/logs
            nodaemon=true
            loglevel=info

            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            [supervisorctl]
            serverurl=unix://{dir}/supervisor.sock

            {shipped}

            {await CopyAsync("bad-settings", "Database__MaxPoolSize=0")}

            {await CopyAsync("bad-token", "TELEGRAM_BOT_TOKEN=123:not-the-token")}

            {await CopyAsync("behind", $"Database__ConnectionString=\"{emptyDatabase}\"", " --no-migrate bot\n")}
            """);
        _supervisord = Process.Start(new ProcessStartInfo(Tools.Find("supervisor", "supervisord"), ["-n", "-c", _conf])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        })!;
        _ = _supervisord.StandardOutput.ReadToEndAsync();
        _ = _supervisord.StandardError.ReadToEndAsync();
        await Eventually.TrueAsync(() => Task.FromResult(File.Exists(Path.Combine(dir, "supervisor.sock"))), "supervisord to listen");
    }

    private async Task<ToolResult> CtlAsync(params string[] args) =>
        await Tools.RunAsync(Tools.Find("supervisor", "supervisorctl"), ["-c", _conf, .. args], timeout: TimeSpan.FromSeconds(90));

    /// <summary>supervisorctl status: name → "RUNNING   pid 123, uptime 0:00:05".</summary>
    private async Task<Dictionary<string, string>> StatusAsync() =>
        (await CtlAsync("status")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim());

    private static Task<string> ScrapeAsync(HttpClient http, int port, string mustHave) =>
        GetWhenUpAsync(http, $"http://127.0.0.1:{port}/metrics", mustHave);

    /// <summary>What the URL answers once the process behind it listens and says <paramref name="mustHave"/>.</summary>
    private static async Task<string> GetWhenUpAsync(HttpClient http, string url, string mustHave)
    {
        var text = "";
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                text = await http.GetStringAsync(url);
                return text.Contains(mustHave, StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or listening but still starting (under its CPU quota on a busy machine a first
                // answer can take longer than the client's timeout): not up yet either way.
                return false;
            }
        }, url, TimeSpan.FromSeconds(60));
        return text;
    }

    private static double Gauge(string metrics, string name) =>
        double.Parse(Regex.Match(metrics, $@"(?m)^{name} (\S+)$").Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(?ms)^\[program:chatstats-bot\].*?(?=^\[)")]
    private static partial Regex BotSection();

    [GeneratedRegex(@"exited: chatstats-(bad-settings|bad-token|behind) \(exit status \d; expected\)")]
    private static partial Regex ExitedExpected();
}
