using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatStats.Telegram.Receiving;

public sealed record WebhookReceiverOptions
{
    /// <summary>What Telegram sends in <c>X-Telegram-Bot-Api-Secret-Token</c> (set with setWebhook's <c>secret_token</c>).</summary>
    public required string SecretToken { get; init; }

    /// <summary>The largest body read as an update; anything longer is kept (cut) as unreadable and acknowledged.</summary>
    public int MaxBodyBytes { get; init; } = 1 << 20;
}

public static class WebhookEndpoint
{
    public const string SecretHeader = "X-Telegram-Bot-Api-Secret-Token";

    /// <summary>How much of an oversized body is kept with its dead letter.</summary>
    private const int KeptOfOversized = 64 * 1024;

    /// <summary>
    /// Telegram's webhook at <paramref name="pattern"/>: the secret header is checked in constant time (wrong or missing:
    /// 401, nothing stored), the body goes to the <see cref="IUpdateInbox"/> as received, and 200 is answered only once it
    /// is durable; anything else makes Telegram deliver it again. A body that is not an update (too long, not JSON) is
    /// kept as unreadable and acknowledged, since delivering it again cannot help.
    /// </summary>
    public static IEndpointConventionBuilder MapTelegramWebhook(this IEndpointRouteBuilder endpoints, string pattern)
    {
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<WebhookReceiverOptions>();
        var receiver = new Receiver(services.GetRequiredService<IUpdateInbox>(), options, Digest(options.SecretToken),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebhookEndpoint).FullName!));
        // A plain RequestDelegate: the answer is a bare status code, and this runs for every update Telegram sends.
        return endpoints.MapPost(pattern, receiver.ReceiveAsync);
    }

    /// <summary>What one delivery needs, resolved once: the endpoint runs for every update Telegram sends.</summary>
    private sealed class Receiver(IUpdateInbox inbox, WebhookReceiverOptions options, byte[] secretDigest, ILogger logger)
    {
        public async Task ReceiveAsync(HttpContext context) =>
            context.Response.StatusCode = await WebhookEndpoint.ReceiveAsync(context, inbox, options, secretDigest, logger);
    }

    /// <returns>The status to answer: 200 once stored (or kept as unreadable), 401, 499 or 503.</returns>
    private static async Task<int> ReceiveAsync(HttpContext context, IUpdateInbox inbox, WebhookReceiverOptions options, byte[] secretDigest, ILogger logger)
    {
        var ct = context.RequestAborted;
        if (!SecretMatches(context.Request.Headers[SecretHeader].ToString(), secretDigest))
        {
            Count("unauthorized");
            logger.LogDebug("Webhook call from {RemoteIp} without the right secret token; refused", context.Connection.RemoteIpAddress);
            return StatusCodes.Status401Unauthorized;
        }

        var (body, length, complete) = await ReadBodyAsync(context.Request, options.MaxBodyBytes, ct);
        try
        {
            if (!complete)
            {
                Count("too_large");
                logger.LogWarning("A webhook body of {Length} bytes exceeds {Max} bytes (Telegram:WebhookMaxBodyBytes); kept as a dead letter, not recorded",
                    context.Request.ContentLength ?? length, options.MaxBodyBytes);
                await inbox.StoreUnreadableAsync(body.AsMemory(0, Math.Min(length, KeptOfOversized)),
                    $"webhook body exceeds {options.MaxBodyBytes} bytes (only the first {Math.Min(length, KeptOfOversized)} kept)", ct);
                return StatusCodes.Status200OK;
            }
            UpdateBatch batch;
            try
            {
                batch = UpdateBatch.FromObject(body.AsSpan(0, length));
            }
            catch (JsonException ex)
            {
                Count("unreadable");
                logger.LogWarning("A webhook body of {Length} bytes is not a JSON object ({Error}); kept as a dead letter", length, ex.Message);
                await inbox.StoreUnreadableAsync(body.AsMemory(0, length), $"webhook body is not a JSON object: {ex.Message}", ct);
                return StatusCodes.Status200OK;
            }
            await inbox.StoreAsync(batch, ct);
            Count("stored");
            return StatusCodes.Status200OK;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Telegram gave up on this delivery; it will send it again.
            Count("aborted");
            return StatusCodes.Status499ClientClosedRequest;
        }
        catch (Exception ex)
        {
            Count("failed");
            logger.LogError(ex, "Could not store a webhook update; answering 503 so that Telegram delivers it again");
            return StatusCodes.Status503ServiceUnavailable;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>Compares digests, so neither the content nor the length of the secret leaks through timing.</summary>
    internal static bool SecretMatches(string presented, byte[] expectedDigest)
    {
        if (expectedDigest.Length == 0 || presented.Length > 1024)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(presented.Length)];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..Encoding.UTF8.GetBytes(presented, bytes)], digest);
        return CryptographicOperations.FixedTimeEquals(digest, expectedDigest);
    }

    /// <summary>The secret's digest; empty (nothing matches) when no secret is configured.</summary>
    internal static byte[] Digest(string secret) => string.IsNullOrEmpty(secret) ? [] : SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Reads at most <paramref name="max"/> + 1 bytes into a pooled buffer; <c>complete</c> is false when there were more.</summary>
    private static async Task<(byte[] Buffer, int Length, bool Complete)> ReadBodyAsync(HttpRequest request, int max, CancellationToken ct)
    {
        var initial = request.ContentLength is { } declared and >= 0 ? (int)Math.Min(declared + 1, max + 1L) : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 256));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max)
                    {
                        return (buffer, length, false);
                    }
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, max + 1L));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, max + 1) - length), ct);
                if (read == 0)
                {
                    return (buffer, length, length <= max);
                }
                length += read;
                if (length > max)
                {
                    return (buffer, length, false);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static void Count(string outcome) => TelegramMetrics.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
