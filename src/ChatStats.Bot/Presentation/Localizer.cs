using System.Globalization;
using System.Resources;

namespace ChatStats.Bot.Presentation;

/// <summary>Reply strings from Resources/Strings*.resx; a language is added with a resource file, not code.</summary>
internal static class Localizer
{
    private static readonly ResourceManager Resources = new("ChatStats.Bot.Resources.Strings", typeof(Localizer).Assembly);

    public static readonly IReadOnlyList<string> Supported = ["en", "ru"];

    /// <summary>The chat's chosen language, else the sender's if we speak it, else English.</summary>
    public static CultureInfo Choose(string? chatLanguage, string? userLanguage)
    {
        foreach (var candidate in new[] { chatLanguage, userLanguage })
        {
            if (candidate is { Length: >= 2 } && Supported.Contains(candidate[..2].ToLowerInvariant()))
            {
                return CultureInfo.GetCultureInfo(candidate[..2].ToLowerInvariant());
            }
        }
        return CultureInfo.GetCultureInfo("en");
    }

    public static string Get(string key, CultureInfo culture) =>
        Resources.GetString(key, culture) ?? throw new InvalidOperationException($"Missing resource string '{key}'");

    /// <summary>The string with its arguments, numbers in the culture's form and <c>{0:plural(…)}</c> words agreeing with them (<see cref="Plurals"/>).</summary>
    public static string Format(string key, CultureInfo culture, params object?[] args) =>
        string.Format(new Plurals(culture), Get(key, culture), args);
}
