using System.Diagnostics;

namespace ChatStats.Bot.Tests.Cli;

internal sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>Runs the built chatstats executable as an operator would, with a clean environment.</summary>
internal static class ChatStatsProcess
{
    private static readonly string[] Inherited = ["PATH", "HOME", "DOTNET_ROOT", "TMPDIR", "LANG"];

    public static async Task<ProcessResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
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
}
