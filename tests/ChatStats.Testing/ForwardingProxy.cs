using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace ChatStats.Testing;

/// <summary>
/// A reverse proxy on loopback in front of the web role, as nginx with the usual
/// <c>proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; X-Forwarded-Proto $scheme; X-Real-IP $remote_addr</c>
/// would be: every request reaches the upstream from 127.0.0.1, naming the client it came from. The client's address is
/// the one given (a proxy facing the internet sees 203.0.113.9, not the test's loopback). Cookies and redirects pass
/// through untouched.
/// </summary>
public sealed class ForwardingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Connection", "Host",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;

    private ForwardingProxy(WebApplication app, HttpClient upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    public string Url => _app.Urls.First();

    public static async Task<ForwardingProxy> StartAsync(string upstream, string clientAddress)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        var proxy = new ForwardingProxy(app, http);
        app.Run(context => proxy.ForwardAsync(context, upstream.TrimEnd('/'), clientAddress));
        await app.StartAsync();
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context, string upstream, string clientAddress)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), upstream + context.Request.Path + context.Request.QueryString);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(context.Request.Body);
        }
        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopByHop.Contains(name) || name.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }
        // $proxy_add_x_forwarded_for: what the client sent, then the address the proxy saw.
        var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwarded.Length == 0 ? clientAddress : $"{forwarded}, {clientAddress}");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", context.Request.Scheme);
        request.Headers.TryAddWithoutValidation("X-Real-IP", clientAddress);
        request.Headers.Host = context.Request.Host.Value;

        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
