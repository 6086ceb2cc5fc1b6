using Microsoft.Extensions.Http.Logging;
using Microsoft.Extensions.Logging;

namespace ChatStats.Telegram.Http;

/// <summary>
/// Logs Bot API calls by method name. IHttpClientFactory's own loggers write the request URL, and a Bot API URL carries
/// the token, so they are removed for this client and this one logs in their place.
/// </summary>
public sealed class BotApiHttpLogger(ILogger<BotApiHttpLogger> logger, BotApiConnection connection) : IHttpClientLogger
{
    public object? LogRequestStart(HttpRequestMessage request) => null;

    public void LogRequestStop(object? context, HttpRequestMessage request, HttpResponseMessage response, TimeSpan elapsed) =>
        logger.LogDebug("Bot API {Method} answered {StatusCode} in {ElapsedMs:0.0} ms",
            BotApiHttpHandler.MethodName(request.RequestUri), (int)response.StatusCode, elapsed.TotalMilliseconds);

    public void LogRequestFailed(object? context, HttpRequestMessage request, HttpResponseMessage? response, Exception exception, TimeSpan elapsed) =>
        logger.LogDebug("Bot API {Method} failed after {ElapsedMs:0.0} ms: {Error}",
            BotApiHttpHandler.MethodName(request.RequestUri), elapsed.TotalMilliseconds, connection.Redact(exception.Message));
}
