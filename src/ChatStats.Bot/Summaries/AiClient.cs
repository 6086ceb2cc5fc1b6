using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace ChatStats.Bot.Summaries;

/// <summary>
/// The configured model as an <see cref="IChatClient"/> (null when <c>Ai:Endpoint</c> is not set), over an HttpClient
/// whose resilience handler times out each attempt and the whole request, retries 429, 5xx and network failures
/// (waiting what Retry-After asks, within <c>Ai:MaxRetryDelaySeconds</c>) and opens a breaker when the provider keeps
/// failing, so that every /summary meanwhile is answered offline at once.
/// </summary>
internal sealed class AiClient
{
    public const string HttpClientName = "ai";

    private readonly CircuitBreakerStateProvider _breaker;

    public AiClient(IOptions<AiOptions> options, IHttpClientFactory http, CircuitBreakerStateProvider breaker)
    {
        _breaker = breaker;
        var o = options.Value;
        Model = o.Model;
        if (!o.Configured)
        {
            SummaryMetrics.BreakerState = () => -1;
            return;
        }
        var client = new OpenAI.Chat.ChatClient(o.Model, new ApiKeyCredential(string.IsNullOrWhiteSpace(o.ApiKey) ? "none" : o.ApiKey),
            new OpenAI.OpenAIClientOptions
            {
                Endpoint = new Uri(o.Endpoint!),
                Transport = new HttpClientPipelineTransport(http.CreateClient(HttpClientName)),
                // The resilience handler underneath retries and times out; the SDK's own retries (3, exponential) and its
                // 100 s network timeout would multiply and cut across them.
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                NetworkTimeout = TimeSpan.FromSeconds(o.TotalTimeoutSeconds + 5),
            });
        Chat = client.AsIChatClient();
        SummaryMetrics.BreakerState = () => (int)Breaker;
    }

    public IChatClient? Chat { get; }

    public string Model { get; }

    /// <summary>Closed (calls go through), Open (failing: none go), HalfOpen (one trial call) or Isolated.</summary>
    public CircuitState Breaker
    {
        get
        {
            try
            {
                return _breaker.CircuitState;
            }
            catch (ObjectDisposedException)
            {
                // The pipeline goes with its host (tests start several in one process): nothing is in flight any more.
                return CircuitState.Closed;
            }
        }
    }

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<CircuitBreakerStateProvider>();
        services.AddSingleton<AiClient>();
        // No HttpClient timeout of its own: the handler's total timeout is the one that counts.
        services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions r, IServiceProvider sp) =>
            {
                var o = sp.GetRequiredService<IOptions<AiOptions>>().Value;
                r.AttemptTimeout.Timeout = TimeSpan.FromSeconds(o.AttemptTimeoutSeconds);
                r.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(o.TotalTimeoutSeconds);
                // Defaults: 3 retries from 2 s, exponential with jitter, Retry-After honoured. A model call is
                // expensive and slow: fewer, and never a wait longer than the operator allows.
                r.Retry.MaxRetryAttempts = Math.Max(1, o.MaxRetries);
                r.Retry.MaxDelay = TimeSpan.FromSeconds(o.MaxRetryDelaySeconds);
                r.Retry.Delay = TimeSpan.FromSeconds(1);
                if (o.MaxRetries == 0)
                {
                    r.Retry.ShouldHandle = _ => ValueTask.FromResult(false);
                }
                // Defaults: 10 % failures among 100 requests in 30 s, open 5 s: sized for busy services, never reached
                // by a bot's few summaries a minute. The window must hold two attempts (the handler checks).
                r.CircuitBreaker.MinimumThroughput = o.BreakerMinimumThroughput;
                r.CircuitBreaker.FailureRatio = o.BreakerFailureRatio;
                r.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(o.BreakerBreakSeconds);
                r.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(Math.Max(60, 2 * o.AttemptTimeoutSeconds + 1));
                r.CircuitBreaker.StateProvider = sp.GetRequiredService<CircuitBreakerStateProvider>();
            });
    }
}
