using ChatStats.Bot.Reports;

namespace ChatStats.Bot.Tests.Jobs;

/// <summary>The report's template: what it escapes, what it takes as markup, and that every script keeps its letters.</summary>
public class ReportDocumentTests
{
    [Fact]
    public async Task TextIsEscapedAndKeepsItsLettersWhileChartsAndTheSummaryGoInAsMarkup()
    {
        var html = await ReportBuilder.RenderAsync(new ReportContent("ru", "<script>alert(1)</script> & Чат", "1 мар 2026", "Europe/Moscow")
        {
            SummaryTitle = "Сводка",
            Summary = new ReportSummary("<b>Темы</b>\n• планы", "<i>по 9 сообщениям</i>"),
            Cards = [new ReportCard("Сообщения", "1 234")],
            Highlights = ["Самый активный день: <b>понедельник</b>"],
            Sections =
            [
                ReportSection.Chart("График", "<svg viewBox=\"0 0 1 1\"><text>x</text></svg>"),
                ReportSection.Table("Слова", [new ReportRow(["1", "привет <img src=x>"], "5")]),
            ],
        });

        Assert.Contains("<html lang=\"ru\">", html);
        Assert.Contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Чат — 1 мар 2026</title>", html);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("Самый активный день: &lt;b&gt;понедельник&lt;/b&gt;", html);
        Assert.Contains("<td>привет &lt;img src=x&gt;</td>", html);
        Assert.Contains("<td class=\"n\">5</td>", html);
        Assert.Contains("<svg viewBox=\"0 0 1 1\"><text>x</text></svg>", html);
        Assert.Contains("<div style=\"white-space: pre-wrap\"><b>Темы</b>\n• планы</div>", html);
        Assert.Contains("<i>по 9 сообщениям</i>", html);
        Assert.Contains("@page { size: A4;", html);
    }

    [Fact]
    public async Task AnEmptyPeriodSaysSoAndShowsNothingElse()
    {
        var html = await ReportBuilder.RenderAsync(new ReportContent("en", "Friends", "all time", "UTC") { Empty = "Nothing was written in all time." });

        Assert.Contains("<p>Nothing was written in all time.</p>", html);
        Assert.DoesNotContain("<section>", html);
        Assert.DoesNotContain("class=\"card\"", html);
    }
}
