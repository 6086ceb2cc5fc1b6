namespace ChatStats.Bot.Data;

/// <summary>
/// The two choices members make about their data, as SQL conditions — one definition each, for every query that must
/// honour them. Arguments are SQL expressions (column references or parameters), never values.
/// <list type="bullet">
/// <item><b>Opted out</b> (/optout, chat_member_prefs): no text kept, no place in leaderboards, word counts or reply
/// pairs; messages still count in the chat's totals.</item>
/// <item><b>Forgotten</b> (/forgetme, forgotten_members): everything up to the moment of forgetting is deleted, in one
/// chat or (chat_id 0) everywhere, and a copy of it that arrives later (a replayed batch, an import) is not stored again.</item>
/// </list>
/// </summary>
internal static class MemberChoices
{
    /// <summary>True when <paramref name="userId"/> has opted out in <paramref name="chatId"/>.</summary>
    public static string OptedOut(string chatId, string userId) =>
        $"EXISTS (SELECT 1 FROM chat_member_prefs p WHERE p.chat_id = {chatId} AND p.user_id = {userId} AND p.opted_out)";

    /// <summary>True when something <paramref name="userId"/> did at <paramref name="at"/> in <paramref name="chatId"/> was forgotten (there, or everywhere).</summary>
    public static string Forgotten(string userId, string chatId, string at) =>
        $"EXISTS (SELECT 1 FROM forgotten_members f WHERE f.user_id = {userId} AND f.chat_id IN (0, {chatId}) AND {at} <= f.forgotten_at)";

    /// <summary>True when <paramref name="userId"/> asked to be forgotten in every chat at or after <paramref name="at"/> (their name is not kept either).</summary>
    public static string ForgottenEverywhere(string userId, string at) =>
        $"EXISTS (SELECT 1 FROM forgotten_members f WHERE f.user_id = {userId} AND f.chat_id = 0 AND {at} <= f.forgotten_at)";

    private const string IngestLock = "hashtextextended('chatstats:member-choices', 0)";

    /// <summary>
    /// Taken (shared) by every ingest transaction before it writes. A statement reads the members' choices as they were
    /// when it began, so a chunk in flight while a choice is saved stores what the choice forbids, and a change the
    /// choice makes to stored rows cannot see that chunk's rows until it commits. So a choice is saved, then
    /// <see cref="WaitForIngestInFlight"/> waits for the chunks that may have read it too early, and only then are the
    /// stored rows changed: they include everything those chunks wrote. Transaction-scoped: it goes with the commit.
    /// </summary>
    public const string LockIngestShared = $"SELECT pg_advisory_xact_lock_shared({IngestLock})";

    /// <summary>
    /// Waits for the ingest transactions in flight (new ones queue behind it); taken in a transaction of its own, it is
    /// let go at once. Run after a choice is committed, before the rows it changes are read.
    /// </summary>
    public const string WaitForIngestInFlight = $"SELECT pg_advisory_xact_lock({IngestLock})";
}
