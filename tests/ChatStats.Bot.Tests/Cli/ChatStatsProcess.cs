using System.Diagnostics;

namespace ChatStats.Bot.Tests.Cli;

internal sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>Runs the built chatstats executable as an operator would, with a clean environment.</summary>
internal static class ChatStatsProcess
{
    private static readonly string[] Inherited = ["PATH", "HOME", "DOTNET_ROOT", "TMPDIR", "LANG"];

    public static async Task<ProcessResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = StartInfo(environment, args);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chatstats {string.Join(' ', args)} did not exit: {await output}{await error}");
        }
        return new ProcessResult(process.ExitCode, await output, await error);
    }

    /// <summary>Starts chatstats (a worker, say) and leaves it running; its output is kept for the failure message.</summary>
    public static RunningChatStats Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        new(Process.Start(StartInfo(environment, args))!);

    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "chatstats.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment.Clear();
        foreach (var name in Inherited)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                start.Environment[name] = value;
            }
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        return start;
    }
}

/// <summary>A chatstats process left running: stopped as an operator or a crash would stop it.</summary>
internal sealed class RunningChatStats : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    public RunningChatStats(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    /// <summary>What it was started as: "bot", "web run", …</summary>
    public string Role => string.Join(' ', _process.StartInfo.ArgumentList.Skip(1));

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>SIGKILL to this process alone, as the OOM killer or kill -9 would: no shutdown, its children orphaned.</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    /// <summary>SIGTERM, as systemd or supervisor stop it.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
