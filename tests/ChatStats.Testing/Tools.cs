using System.Diagnostics;

namespace ChatStats.Testing;

/// <summary>Debian's binaries the tests drive (promtool, supervisord, chromium), which deploy/dev.sh installs.</summary>
public static class Tools
{
    /// <summary>The executable's path on PATH, or a failure that says how to get it.</summary>
    public static string Find(string package, params string[] names) =>
        names.SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(dir => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{names[0]} is not installed: deploy/dev.sh test installs it (apt-get install {package}).");

    public static string Chromium() => Find("chromium", "chromium", "chromium-browser", "google-chrome");

    /// <summary>Runs a tool to its end; what it printed on either stream comes back with its exit code.</summary>
    public static async Task<ToolResult> RunAsync(string path, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{path} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(path)} {string.Join(' ', info.ArgumentList)} did not finish in {timeout ?? TimeSpan.FromMinutes(1)}");
        }
        return new ToolResult(process.ExitCode, await output, await error);
    }
}

public sealed record ToolResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n{Output}\n{Error}";
}
