namespace ChatStats.Bot.Import;

/// <summary>
/// The message ids an import has seen, as a bitmap in 8 KB pages allocated where ids are: a 10M-message export's
/// dense ids take about 1.2 MB, and an id far off costs one page, never a bitmap up to it.
/// </summary>
internal sealed class MessageIdSet
{
    private const int PageBits = 1 << 16;
    private readonly Dictionary<int, ulong[]> _pages = [];

    /// <summary>Adds a positive id; false when it was there already.</summary>
    public bool Add(int id)
    {
        if (!_pages.TryGetValue(id / PageBits, out var page))
        {
            page = new ulong[PageBits / 64];
            _pages[id / PageBits] = page;
        }
        var bit = id % PageBits;
        var mask = 1UL << (bit % 64);
        if ((page[bit / 64] & mask) != 0)
        {
            return false;
        }
        page[bit / 64] |= mask;
        return true;
    }
}
