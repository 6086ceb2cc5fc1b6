using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatStats.Testing;

/// <summary>
/// Debian's <c>chromium</c>, headless, driven over the DevTools protocol with a WebSocket: enough to open pages,
/// read them and press buttons as a person would, for the dashboard tests. deploy/dev.sh installs chromium.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        var binary = new[] { "chromium", "chromium-browser", "google-chrome" }
            .Select(b => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, b)).FirstOrDefault(File.Exists))
            .FirstOrDefault(p => p is not null)
            ?? throw new InvalidOperationException("chromium is not installed: deploy/dev.sh installs it (apt-get install chromium).");
        var profile = Directory.CreateTempSubdirectory("chatstats-chromium").FullName;
        var start = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank" })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // Chromium writes the port it chose to DevToolsActivePort in its profile.
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(portFile) || (await File.ReadAllLinesAsync(portFile)).Length < 2)
            {
                if (DateTime.UtcNow > deadline || process.HasExited)
                {
                    throw new InvalidOperationException($"chromium did not start (exit {(process.HasExited ? process.ExitCode : -1)})");
                }
                await Task.Delay(50);
            }
            var port = (await File.ReadAllLinesAsync(portFile))[0].Trim();
            using var http = new HttpClient();
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            var page = targets.First(t => t!["type"]!.GetValue<string>() == "page")!;
            await browser._socket.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None);
            await browser.SendAsync("Page.enable");
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens a page and waits until it has loaded.</summary>
    public async Task OpenAsync(string url)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        await WaitForAsync($"location.href === {JsonSerializer.Serialize(url)} && document.readyState === 'complete'", $"{url} to load");
    }

    /// <summary>Clicks the first element the CSS selector finds, then waits for the page it leads to to load.</summary>
    public async Task ClickAsync(string selector, string? leadsTo = null)
    {
        var before = await EvaluateAsync("location.href + '#' + performance.timeOrigin");
        var clicked = await EvaluateAsync($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); if (!e) return 'missing'; e.click(); return 'clicked'; }})()");
        if (clicked != "clicked")
        {
            throw new InvalidOperationException($"nothing matches {selector} on {await EvaluateAsync("location.href")}");
        }
        await WaitForAsync($"(location.href + '#' + performance.timeOrigin) !== {JsonSerializer.Serialize(before)} && document.readyState === 'complete'"
            + (leadsTo is null ? "" : $" && location.pathname === {JsonSerializer.Serialize(leadsTo)}"), $"the click on {selector} to load a page");
    }

    public Task<string> TextAsync() => EvaluateAsync("document.body.innerText");

    public async Task<string> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        var value = result["result"]?["value"];
        return value is null ? "" : value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
    }

    private async Task WaitForAsync(string condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await EvaluateAsync($"!!({condition})") != "true")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for {what} (at {await EvaluateAsync("location.href")})");
            }
            await Task.Delay(50);
        }
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var text = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
                text.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            var reply = JsonNode.Parse(text.ToArray())!;
            if (reply["id"]?.GetValue<int>() != id)
            {
                continue; // an event, or an earlier reply
            }
            if (reply["error"] is { } error)
            {
                throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            }
            return reply["result"] ?? new JsonObject();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException)
        {
        }
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
