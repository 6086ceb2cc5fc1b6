using System.Globalization;
using System.Reflection;
using System.Text;

namespace ChatStats.Bot.Data;

internal sealed record WordCount(string Word, long Count);

/// <summary>
/// Top words of a set of messages: words are runs of letters and digits (apostrophes and hyphens inside a word are
/// kept) in any script, compared in lower case, never stemmed. Links, @mentions, /commands, #tags, numbers, words
/// shorter than <see cref="MinLength"/> and the stop words of every language in Resources/StopWords are left out; a
/// language is added by adding its file.
/// </summary>
internal sealed class WordCounter
{
    public const int MinLength = 3;
    private static readonly Lazy<HashSet<string>> StopWords = new(LoadStopWords);
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    public long Messages { get; private set; }

    /// <summary>Words counted, every use.</summary>
    public long Uses { get; private set; }

    public void Add(string text)
    {
        Messages++;
        foreach (var word in CountedWords(text))
        {
            ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, word, out _);
            count++;
            Uses++;
        }
    }

    /// <summary>
    /// The words of a text that count, one per use, as /words counts them; the word rollup (Data.WordRollup) counts with
    /// this too, so the two can never disagree.
    /// </summary>
    public static IEnumerable<string> CountedWords(string text)
    {
        foreach (var token in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (IsSkippedToken(token))
            {
                continue;
            }
            foreach (var word in Words(token))
            {
                if (word.Length >= MinLength && !StopWords.Value.Contains(word) && !word.All(c => char.IsDigit(c) || c is '-' or '\''))
                {
                    yield return word;
                }
            }
        }
    }

    public IReadOnlyList<WordCount> Top(int count) =>
        [.. _counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(count).Select(p => new WordCount(p.Key, p.Value))];


    private static bool IsSkippedToken(string token) =>
        token[0] is '@' or '/' or '#'
        || token.Contains("://", StringComparison.Ordinal)
        || token.StartsWith("www.", StringComparison.OrdinalIgnoreCase)
        || token.StartsWith("t.me/", StringComparison.OrdinalIgnoreCase);

    /// <summary>The words inside a whitespace-separated token: "hello,world!" holds two, "don't" and "Санкт-Петербург" one each.</summary>
    internal static IEnumerable<string> Words(string token)
    {
        var word = new StringBuilder();
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            var inner = c is '\'' or '’' or '-' && word.Length > 0 && i + 1 < token.Length && char.IsLetter(token[i + 1]);
            if (char.IsLetterOrDigit(c) || inner || (char.IsLowSurrogate(c) && word.Length > 0) || (char.IsHighSurrogate(c) && i + 1 < token.Length && char.IsLetter(token, i)))
            {
                word.Append(c == '’' ? '\'' : c);
            }
            else if (word.Length > 0)
            {
                yield return word.ToString().ToLower(CultureInfo.InvariantCulture).Replace('ё', 'е');
                word.Clear();
            }
        }
        if (word.Length > 0)
        {
            yield return word.ToString().ToLower(CultureInfo.InvariantCulture).Replace('ё', 'е');
        }
    }

    private static HashSet<string> LoadStopWords()
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".StopWords.", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            while (reader.ReadLine() is { } line)
            {
                if (line.StartsWith('#'))
                {
                    continue;
                }
                foreach (var word in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                {
                    words.Add(word.ToLower(CultureInfo.InvariantCulture).Replace('ё', 'е'));
                    words.Add(word.Replace("'", "", StringComparison.Ordinal).ToLower(CultureInfo.InvariantCulture));
                }
            }
        }
        return words;
    }
}
