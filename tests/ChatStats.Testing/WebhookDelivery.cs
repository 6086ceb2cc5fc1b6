using System.Net;
using System.Text;

namespace ChatStats.Testing;

/// <summary>
/// Telegram's side of a webhook, as far as ChatStats depends on it: updates posted with the secret header, up to
/// <c>concurrency</c> at once, each sent again until it is answered 200 (a refused connection, a 5xx, a timeout — all
/// mean "try later"), in no guaranteed order across deliveries.
/// </summary>
public sealed class WebhookDelivery(string url, string secret, int concurrency = 40) : IDisposable
{
    public const string SecretHeader = "X-Telegram-Bot-Api-Secret-Token";
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };
    private int _retries;

    /// <summary>Deliveries that had to be repeated because the first attempt was not answered 200.</summary>
    public int Retries => Volatile.Read(ref _retries);

    /// <summary>The update objects (without update_id) numbered from <paramref name="firstId"/>, as Telegram would send them.</summary>
    public static byte[][] Number(IEnumerable<string> updates, long firstId = 1)
    {
        var id = firstId - 1;
        return [.. updates.Select(u => Encoding.UTF8.GetBytes("{\"update_id\":" + ++id + "," + u.TrimStart()[1..]))];
    }

    /// <summary>Posts every body until each is answered 200; gives up (throws) after <paramref name="patience"/>.</summary>
    public async Task DeliverAllAsync(IReadOnlyList<byte[]> bodies, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(90));
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < bodies.Count)
            {
                await DeliverAsync(bodies[i], deadline);
            }
        }));
    }

    /// <summary>One delivery, repeated until answered 200.</summary>
    public async Task DeliverAsync(byte[] body, DateTime deadline)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                Interlocked.Increment(ref _retries);
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"a webhook delivery was still refused after {attempt} attempts");
                }
                await Task.Delay(Math.Min(20 * attempt, 250));
            }
            try
            {
                if (await PostAsync(body, secret) == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                // The web process is away (restarting, killed): Telegram tries again later, so do we.
            }
        }
    }

    /// <summary>A single attempt, answered with whatever status the web role chose.</summary>
    public async Task<HttpStatusCode> PostAsync(byte[] body, string? secretToken, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        if (contentType.Length > 0)
        {
            // Unvalidated, so that a test can send what a broken client would.
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        if (secretToken is not null)
        {
            request.Headers.Add(SecretHeader, secretToken);
        }
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    public void Dispose() => _http.Dispose();
}
