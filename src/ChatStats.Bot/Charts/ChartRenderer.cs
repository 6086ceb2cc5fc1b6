using System.Text;

namespace ChatStats.Bot.Charts;

/// <summary>
/// Turns an SVG chart into PNG with <c>rsvg-convert</c> (Debian: librsvg2-bin), the one external program charts need.
/// Without it, or when it fails or takes too long, <see cref="ToPngAsync"/> returns null and the command answers with
/// a text chart instead; <c>chatstats doctor</c> says what to install.
/// </summary>
internal sealed class ChartRenderer(IConfiguration configuration, ILogger<ChartRenderer> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    // Charts:RsvgConvert names the program (a path, or "off" for text charts only); by default it is found on PATH.
    private readonly Lazy<string?> _binary = new(() => configuration["Charts:RsvgConvert"] switch
    {
        null or "" => Cli.DoctorCommand.FindOnPath("rsvg-convert"),
        "off" => null,
        var path => File.Exists(path) ? path : null,
    });

    public bool CanRenderPng => _binary.Value is not null;

    public async Task<byte[]?> ToPngAsync(string svg, CancellationToken ct)
    {
        if (_binary.Value is not { } binary)
        {
            return null;
        }
        try
        {
            // Twice the pixels: sharp on phone screens.
            var result = await ChildProcess.RunAsync(binary, ["--zoom=2", "--format=png"], Encoding.UTF8.GetBytes(svg), Timeout, ct);
            if (result.ExitCode != 0)
            {
                logger.LogWarning("rsvg-convert failed ({ExitCode}): {Error}", result.ExitCode, result.Error);
                return null;
            }
            return result.Output;
        }
        catch (TimeoutException ex)
        {
            logger.LogWarning("{Error}; answering with a text chart", ex.Message);
            return null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            logger.LogWarning("rsvg-convert could not run: {Error}", ex.Message);
            return null;
        }
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
