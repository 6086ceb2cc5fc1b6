using System.Text;
using SkiaSharp;

namespace ChatStats.Bot.Charts;

/// <summary>
/// Turns an SVG chart into PNG in this process, with Svg.Skia over SkiaSharp (the native Skia library ships in the
/// SkiaSharp.NativeAssets.Linux package; fonts come from fontconfig, falling back character by character, so Cyrillic
/// and CJK names render when a font covers them). No child process per chart: a chart costs milliseconds of CPU, not a
/// process start. When PNG is off (<c>Charts:Png</c> = <c>off</c>), the native library cannot load, or an SVG cannot be
/// drawn, <see cref="ToPngAsync"/> returns null and the command answers with a text chart; <c>chatstats doctor</c> says
/// which. rsvg-convert, which did this before, is not needed any more.
/// </summary>
internal sealed class ChartRenderer(IConfiguration configuration, ILogger<ChartRenderer> logger)
{
    private readonly bool _enabled = !string.Equals(configuration["Charts:Png"], "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>Why SkiaSharp cannot draw here (its native library missing or unloadable), or null when it can.</summary>
    public static string? NativeProblem => Native.Value;

    private static readonly Lazy<string?> Native = new(() =>
    {
        try
        {
            using var bitmap = new SKBitmap(1, 1);
            return null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or BadImageFormatException or EntryPointNotFoundException)
        {
            return (ex.InnerException ?? ex).Message;
        }
    });

    public bool CanRenderPng => _enabled && NativeProblem is null;

    /// <summary>
    /// PNG bytes, 1,280 px wide (Telegram shows a photo at most that wide, so more pixels would only cost encoding time),
    /// or null when no PNG can be made.
    /// </summary>
    public Task<byte[]?> ToPngAsync(string svg, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(CanRenderPng ? Render(svg) : null);
    }

    public const int PixelWidth = 1280;

    private byte[]? Render(string svg)
    {
        try
        {
            using var document = new Svg.Skia.SKSvg();
            if (document.FromSvg(svg) is not { } picture || picture.CullRect.Width <= 0)
            {
                logger.LogWarning("A chart's SVG could not be read; answering with a text chart");
                return null;
            }
            var scale = PixelWidth / picture.CullRect.Width;
            var info = new SKImageInfo(PixelWidth, (int)Math.Ceiling(picture.CullRect.Height * scale), SKColorType.Rgba8888, SKAlphaType.Premul);
            using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"no {info.Width}×{info.Height} surface");
            surface.Canvas.Clear(SKColors.White);
            surface.Canvas.Scale(scale);
            surface.Canvas.DrawPicture(picture);
            using var image = surface.Snapshot();
            using var pixels = image.PeekPixels();
            // The Sub filter and the fastest zlib level: about half the encoding time of the defaults for a somewhat
            // bigger file (tens of KB), which Telegram recompresses anyway.
            using var png = pixels.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Sub, 1));
            return png?.ToArray();
        }
        catch (Exception ex) when (ex is System.Xml.XmlException or ArgumentException or InvalidOperationException or FormatException)
        {
            logger.LogWarning("A chart's SVG could not be drawn ({Error}); answering with a text chart", ex.Message);
            return null;
        }
    }

    /// <summary>Draws one chart at start-up, so the first member to ask does not wait for fonts to load and code to compile.</summary>
    internal sealed class Warmup(ChartRenderer renderer) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = Task.Run(() => renderer.ToPngAsync(SvgChart.BarChart("Сообщения 李 warm-up", [new Bar("a", 1)], System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None), CancellationToken.None);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>Charts in block characters, for when no PNG can be made and for the CLI: readable in a monospace font.</summary>
internal static class TextChart
{
    private static readonly char[] Levels = [' ', '░', '▒', '▓', '█'];
    private static readonly char[] Eighths = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

    /// <summary>A bar of <paramref name="width"/> cells at most, in eighths of a cell.</summary>
    public static string BarOf(double value, double max, int width)
    {
        if (max <= 0 || value <= 0)
        {
            return "";
        }
        var eighths = (int)Math.Round(value / max * width * 8);
        var full = eighths / 8;
        var rest = eighths % 8;
        return new string('█', full) + (rest > 0 ? Eighths[rest - 1].ToString() : full == 0 ? "▏" : "");
    }

    public static string Heatmap(long[,] grid, IReadOnlyList<string> dayLabels)
    {
        var max = Math.Max(1, grid.Cast<long>().Max());
        var text = new StringBuilder();
        var pad = dayLabels.Max(l => l.Length);
        text.Append(new string(' ', pad + 1)).Append("0     6     12    18   23\n");
        for (var d = 0; d < 7; d++)
        {
            text.Append(dayLabels[d].PadRight(pad)).Append(' ');
            for (var h = 0; h < 24; h++)
            {
                var v = grid[d, h];
                text.Append(v == 0 ? '·' : Levels[Math.Clamp((int)Math.Ceiling(4.0 * v / max), 1, 4)]);
            }
            text.Append('\n');
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>A column sparkline of daily counts, at most <paramref name="width"/> columns (days are summed to fit).</summary>
    public static string Sparkline(IReadOnlyList<double> values, int width = 30)
    {
        if (values.Count == 0)
        {
            return "";
        }
        var per = (int)Math.Ceiling(values.Count / (double)width);
        var buckets = values.Chunk(per).Select(c => c.Sum()).ToList();
        var max = Math.Max(1, buckets.Max());
        const string blocks = "▁▂▃▄▅▆▇█";
        return new string([.. buckets.Select(v => v <= 0 ? ' ' : blocks[Math.Clamp((int)Math.Ceiling(v / max * 8) - 1, 0, 7)])]);
    }
}
