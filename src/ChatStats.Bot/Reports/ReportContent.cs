namespace ChatStats.Bot.Reports;

/// <summary>
/// What a report says, already worded in the chat's language and drawn: <see cref="Pages.ReportDocument"/> lays it out
/// and escapes every text in it; only <see cref="ReportSection.Svg"/> and the summary's Telegram HTML go in as markup.
/// Public, as the component that shows them is (Razor makes components public).
/// </summary>
/// <param name="Language">The document's language (<c>lang</c>), for hyphenation and fonts.</param>
public sealed record ReportContent(string Language, string Title, string Period, string Zone)
{
    /// <summary>Said instead of everything else when the period holds no messages.</summary>
    public string? Empty { get; init; }

    public string SummaryTitle { get; init; } = "";

    public ReportSummary? Summary { get; init; }

    /// <summary>The big numbers at the top.</summary>
    public IReadOnlyList<ReportCard> Cards { get; init; } = [];

    /// <summary>A line each under the numbers: the busiest day and hour, the change against the period before.</summary>
    public IReadOnlyList<string> Highlights { get; init; } = [];

    public IReadOnlyList<ReportSection> Sections { get; init; } = [];
}

/// <summary>The summary of what was said: Telegram's HTML (the same text /summary sends) and its note.</summary>
public sealed record ReportSummary(string TelegramHtml, string Note);

public sealed record ReportCard(string Title, string Value);

/// <summary>A titled section: a chart (our own SVG) or a table whose last column is a number.</summary>
public sealed record ReportSection(string Title, string? Svg, IReadOnlyList<ReportRow> Rows)
{
    public static ReportSection Chart(string title, string svg) => new(title, svg, []);

    public static ReportSection Table(string title, IReadOnlyList<ReportRow> rows) => new(title, null, rows);
}

public sealed record ReportRow(IReadOnlyList<string> Cells, string Number);
