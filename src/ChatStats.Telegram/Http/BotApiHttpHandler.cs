namespace ChatStats.Telegram.Http;

/// <summary>
/// The last handler before the wire, under Telegram.Bot's client: gives each call its own deadline (a long poll waits
/// longer than a send, an upload longer still) and makes sure no exception leaving here names the token, which is part
/// of every request URL. A missed deadline surfaces from the library as a <c>RequestException</c> ("timed out").
/// </summary>
public sealed class BotApiHttpHandler(BotApiConnection connection) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = MethodName(request.RequestUri);
        var deadline = DeadlineFor(method, request.Content);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        try
        {
            return await base.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TaskCanceledException($"{method}: no answer within {deadline.TotalSeconds:0} s", new TimeoutException(connection.Redact(ex.Message)));
        }
        catch (HttpRequestException ex)
        {
            // Socket errors name host and port only, but a proxy or a future runtime may add the URL: scrub regardless.
            throw new HttpRequestException(ex.HttpRequestError, $"{method}: {connection.Redact(ex.Message)}", null, ex.StatusCode);
        }
    }

    internal TimeSpan DeadlineFor(string method, HttpContent? content) =>
        method == "getUpdates" ? connection.PollTimeout + BotApiConnection.PollMargin
        : content is MultipartContent ? connection.UploadTimeout
        : connection.RequestTimeout;

    /// <summary>The Bot API method, the last segment of <c>/bot&lt;token&gt;/&lt;method&gt;</c>: the one part of the URL safe to name.</summary>
    internal static string MethodName(Uri? uri)
    {
        var path = uri?.AbsolutePath ?? "";
        var slash = path.LastIndexOf('/');
        return slash >= 0 && slash < path.Length - 1 ? path[(slash + 1)..] : "?";
    }
}
