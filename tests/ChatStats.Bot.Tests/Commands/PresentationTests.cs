using System.Globalization;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Tests.Commands;

/// <summary>How names and numbers are put into replies: isolated, cleaned, and with words that agree.</summary>
public sealed class PresentationTests
{
    private static readonly CultureInfo En = CultureInfo.GetCultureInfo("en");
    private static readonly CultureInfo Ru = CultureInfo.GetCultureInfo("ru");

    [Theory]
    [InlineData("Ann", "Ann")]
    [InlineData("Анна <3", "Анна &lt;3")]
    [InlineData("דנה", "\u2068דנה\u2069")]
    [InlineData("Dana دانا 2", "\u2068Dana دانا 2\u2069")]
    [InlineData("\u202Eevil\u202C", "evil")]
    [InlineData("\u2067open", "open")]
    [InlineData("zero\u200Bwidth\uFEFF", "zerowidth")]
    [InlineData("\u200B\u2060 ", "?")]
    [InlineData("", "?")]
    [InlineData("👨\u200D👩\u200D👧 family", "👨\u200D👩\u200D👧 family")]
    [InlineData("two\nlines", "two lines")]
    public void ANameIsEscapedCleanedAndIsolatedWhenItIsRightToLeft(string name, string expected) =>
        Assert.Equal(expected, Html.Name(name));

    [Fact]
    public void ANameOfRightToLeftLettersOutsideTheBasicPlaneIsIsolatedToo() =>
        Assert.StartsWith("\u2068", Html.Name("\U00010900\U00010901"));

    [Theory]
    [InlineData(1, "Not seen for 1 day or more", "Не появлялись 1 день и больше")]
    [InlineData(2, "Not seen for 2 days or more", "Не появлялись 2 дня и больше")]
    [InlineData(5, "Not seen for 5 days or more", "Не появлялись 5 дней и больше")]
    [InlineData(11, "Not seen for 11 days or more", "Не появлялись 11 дней и больше")]
    [InlineData(21, "Not seen for 21 days or more", "Не появлялись 21 день и больше")]
    [InlineData(112, "Not seen for 112 days or more", "Не появлялись 112 дней и больше")]
    [InlineData(1024, "Not seen for 1024 days or more", "Не появлялись 1024 дня и больше")]
    public void WordsAgreeWithTheirNumberInEachLanguage(int days, string english, string russian)
    {
        Assert.Equal(english, Localizer.Format("InactiveTitle", En, days));
        Assert.Equal(russian, Localizer.Format("InactiveTitle", Ru, days));
    }

    [Theory]
    [InlineData("1", "за последний 1 день")]
    [InlineData("21", "за последний 21 день")]
    [InlineData("3", "за последние 3 дня")]
    [InlineData("14", "за последние 14 дней")]
    public void ANumberAlreadyFormattedStillChoosesTheForm(string days, string expected) =>
        Assert.Contains(expected, Localizer.Format("InactiveEmpty", Ru, days));

    [Fact]
    public void NumbersFormattedWithGroupSeparatorsAndFractionsChooseTheRightForm()
    {
        Assert.Contains("1,001 messages", Localizer.Format("SummaryCounts", En, 1001.ToString("N0", En), 1));
        Assert.Contains("1 member.", Localizer.Format("SummaryCounts", En, 1001.ToString("N0", En), 1));
        // 1 001 (with a no-break space) is "one" in Russian; 1,5 is a fraction ("few").
        Assert.Contains("1\u00A0001 сообщение", Localizer.Format("StatsBusiestDay", Ru, "x", 1001.ToString("N0", Ru)));
        Assert.Contains("1,5 сообщения", Localizer.Format("StatsBusiestDay", Ru, "x", "1,5"));
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(4, 1)]
    [InlineData(5, 2)]
    [InlineData(11, 2)]
    [InlineData(12, 2)]
    [InlineData(21, 0)]
    [InlineData(22, 1)]
    [InlineData(111, 2)]
    [InlineData(101, 0)]
    public void RussianHasThreeForms(long n, int form) => Assert.Equal(form, Plurals.Category(Ru, n));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(21, 1)]
    public void EnglishHasTwo(long n, int form) => Assert.Equal(form, Plurals.Category(En, n));

    [Fact]
    public void OtherFormatsInAStringStillWork() =>
        Assert.Equal("Busiest hour: 09:00–10:00 (1 message)", Localizer.Format("StatsBusiestHour", En, 9, 10, 1));
}
