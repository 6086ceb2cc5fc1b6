namespace ChatStats.Bot.Ingest;

internal sealed class PrivacyOptions
{
    public const string Section = "Privacy";

    /// <summary>Whether message text is stored (needed for word statistics); counts are kept either way.</summary>
    public bool StoreText { get; set; } = true;
}
