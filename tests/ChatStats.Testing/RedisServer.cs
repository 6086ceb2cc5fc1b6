using System.Diagnostics;

namespace ChatStats.Testing;

/// <summary>
/// A real redis-server (Debian's, which deploy/dev.sh installs) on a loopback port, without persistence: started by a
/// test that needs to take Redis away and bring it back (<see cref="Kill"/>, <see cref="StartAsync"/> on the same port).
/// Tests that only need a Redis use the one deploy/dev.sh test started (<see cref="SharedConfiguration"/>), each under a
/// key prefix of its own.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string UrlVariable = "CHATSTATS_TEST_REDIS_URL";
    private static readonly SemaphoreSlim SharedLock = new(1, 1);
    private static RedisServer? _fallback;
    private Process? _process;

    private RedisServer(int port)
    {
        Port = port;
    }

    public int Port { get; }

    /// <summary>StackExchange.Redis's form of this server's address.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>REDIS_URL's form.</summary>
    public string Url => $"redis://127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The Redis deploy/dev.sh test started, or one started for this test run when the tests run on their own.</summary>
    public static async Task<string> SharedConfigurationAsync()
    {
        if (Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url)
        {
            var uri = new Uri(url);
            return $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}";
        }
        await SharedLock.WaitAsync();
        try
        {
            _fallback ??= await StartNewAsync();
            return _fallback.Configuration;
        }
        finally
        {
            SharedLock.Release();
        }
    }

    public static async Task<RedisServer> StartNewAsync()
    {
        var server = new RedisServer(Tools.FreePort());
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (again) on the same port, empty; returns once it answers PING.</summary>
    public async Task StartAsync()
    {
        var binary = Tools.Find("redis-server", "redis-server");
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning" })
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var process = _process;
        await Eventually.TrueAsync(() => AnswersPingAsync(process), $"redis-server on port {Port} to answer PING", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
    }

    private async Task<bool> AnswersPingAsync(Process process)
    {
        if (process.HasExited)
        {
            throw new InvalidOperationException($"redis-server exited with {process.ExitCode} on port {Port}");
        }
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return read > 0 && buffer[0] == (byte)'+';
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL, as the OOM killer would: everything it held is gone.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}
