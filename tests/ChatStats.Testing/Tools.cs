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

    /// <summary>A loopback port nothing listens on now (the caller binds it soon after).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The repository's root (where ChatStats.sln is), above the test's output folder.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ChatStats.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("ChatStats.sln not found above the test directory");
    }

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
