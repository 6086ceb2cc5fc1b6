using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatStats.Testing;

/// <summary>A chat completion request the fake received: the raw body, its messages, and when it arrived.</summary>
public sealed record FakeAiRequest(string Body, string? Authorization, string? Model, IReadOnlyList<(string Role, string Content)> Messages, DateTimeOffset At)
{
    public string Content(string role) => string.Join("\n", Messages.Where(m => m.Role == role).Select(m => m.Content));
}

/// <summary>
/// An in-process OpenAI-compatible endpoint on loopback (<c>POST {BaseUrl}/chat/completions</c>) that behaves like one
/// where ChatStats depends on it: bearer keys (401 for a wrong one), 429 with Retry-After, 5xx, slow answers that stop
/// when the client gives up, malformed JSON, and usage in every answer. It records every request and the most it ever
/// served at once.
/// </summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    public const string Model = "fake-model-1";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _faults = new();
    private readonly List<FakeAiRequest> _requests = [];
    private readonly Lock _lock = new();
    private int _inFlight;
    private int _maxInFlight;
    private int _id;

    private FakeOpenAi(WebApplication app) => _app = app;

    /// <summary>The base address to configure (Ai:Endpoint), ending in /v1 as OpenAI's does.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>When set, requests must carry <c>Authorization: Bearer {RequiredKey}</c>.</summary>
    public string? RequiredKey { get; set; }

    /// <summary>How long every answer takes.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>What the model writes; by default a summary-shaped text naming the transcript's first speaker.</summary>
    public Func<FakeAiRequest, string> Answer { get; set; } = DefaultAnswer;

    public int MaxConcurrent => Volatile.Read(ref _maxInFlight);

    public IReadOnlyList<FakeAiRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<FakeOpenAi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeOpenAi(app);
        app.MapPost("/v1/chat/completions", fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = app.Urls.First() + "/v1";
        return fake;
    }

    /// <summary>The next <paramref name="times"/> requests get this status (429 with Retry-After when given).</summary>
    public void Fail(int times, int status, TimeSpan? retryAfter = null)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue(async context =>
            {
                context.Response.StatusCode = status;
                if (retryAfter is { } wait)
                {
                    context.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }
                var (type, message) = status switch
                {
                    429 => ("rate_limit_exceeded", "Rate limit reached for requests"),
                    401 => ("invalid_request_error", "Incorrect API key provided"),
                    _ => ("server_error", "The server had an error while processing your request"),
                };
                await context.Response.WriteAsJsonAsync(new { error = new { message, type } });
            });
        }
    }

    /// <summary>The next <paramref name="times"/> requests get a 200 whose JSON breaks off.</summary>
    public void FailMalformed(int times)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue(async context =>
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":");
            });
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }
        try
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var request = Parse(body, context.Request.Headers.Authorization.ToString());
            lock (_lock)
            {
                _requests.Add(request);
            }
            if (RequiredKey is { } key && request.Authorization != $"Bearer {key}")
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "Incorrect API key provided", type = "invalid_request_error", code = "invalid_api_key" } });
                return;
            }
            if (_faults.TryDequeue(out var fault))
            {
                await fault(context);
                return;
            }
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, context.RequestAborted);
            }
            var text = Answer(request);
            var prompt = request.Messages.Sum(m => Encoding.UTF8.GetByteCount(m.Content)) / 4 + 1;
            var completion = Encoding.UTF8.GetByteCount(text) / 4 + 1;
            await context.Response.WriteAsJsonAsync(new
            {
                id = $"chatcmpl-{Interlocked.Increment(ref _id)}",
                @object = "chat.completion",
                created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                model = request.Model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = prompt, completion_tokens = completion, total_tokens = prompt + completion },
            });
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client gave up: as a real server, nothing more is written.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static FakeAiRequest Parse(string body, string authorization)
    {
        var json = JsonNode.Parse(body)!.AsObject();
        var messages = new List<(string, string)>();
        foreach (var message in json["messages"]?.AsArray() ?? [])
        {
            var content = message!["content"] switch
            {
                JsonValue value => value.GetValue<string>(),
                JsonArray parts => string.Join("", parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
                _ => "",
            };
            messages.Add((message["role"]!.GetValue<string>(), content));
        }
        return new FakeAiRequest(body, authorization.Length == 0 ? null : authorization, json["model"]?.GetValue<string>(), messages, DateTimeOffset.UtcNow);
    }

    private static string DefaultAnswer(FakeAiRequest request)
    {
        var transcript = request.Content("user");
        var speaker = transcript.Split('\n').Select(l => l.IndexOf("] ", StringComparison.Ordinal) is var at and > 0 ? l[(at + 2)..].Split(':')[0] : null)
            .FirstOrDefault(s => s is not null) ?? "someone";
        return $"""
            ## Topics
            - **Plans** for the weekend — {speaker}
            Open questions:
            - none
            """;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
