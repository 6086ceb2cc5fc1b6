using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests;

/// <summary>
/// The app's folders (<c>ChatStats.Bot.Commands</c>, <c>.Stats</c>, <c>.Web</c>…) depend on each other one way
/// (docs/architecture.md): a circle means two features cannot be read, changed or tested apart. What the compiled code
/// uses is read by ArchUnitNET (signatures and method bodies alike, so a fully qualified name is no way around it).
/// Composition may name anything: the root (<c>Program</c>, <c>AppHost</c>), the command-line verbs in <c>Cli/</c> and
/// each folder's <c>*Extensions</c> class, which registers what the folder offers (a helper such a class offers others,
/// like <c>UsesWebhook</c>, still counts as its folder's when another folder uses it).
/// </summary>
public sealed class FolderDependencyTests(ITestOutputHelper output)
{
    private const string Root = "ChatStats.Bot";

    private static readonly Lazy<Architecture> App = new(() => new ArchLoader().LoadAssemblies(typeof(AppHost).Assembly).Build());

    [Fact]
    public void NoTwoFoldersDependOnEachOtherInACircle()
    {
        var edges = FolderEdges();
        foreach (var (from, to) in edges.Keys.Order())
        {
            output.WriteLine($"{from} -> {to}");
        }

        var circles = edges.Keys
            .Where(edge => Reaches(edges, edge.To, edge.From))
            .Select(edge => $"{edge.From} -> {edge.To} ({string.Join(", ", edges[edge].Order().Take(4))}), and {edge.To} leads back to {edge.From}")
            .Order()
            .ToList();
        Assert.True(circles.Count == 0, "Folders in a circle; move the type to the folder it belongs to, or let the lower folder ask for an interface it owns:\n" + string.Join("\n", circles));
    }

    [Fact]
    public void NoFolderUsesTheHostOrTheCommandLine()
    {
        var uses = App.Value.Types
            .Where(t => Folder(t) is { } folder && folder != "Cli" && !IsComposition(t))
            .SelectMany(t => t.Dependencies.Select(d => (Origin: t, d.Target)))
            .Where(d => d.Target.FullName.StartsWith(Root + ".", StringComparison.Ordinal) && Folder(d.Target) is null or "Cli")
            .Select(d => $"{Outer(d.Origin)} uses {Outer(d.Target)}")
            .Distinct()
            .ToList();
        Assert.True(uses.Count == 0, "The features must not reach back into what builds and starts them (AppHost, Program, Cli/):\n" + string.Join("\n", uses));
    }

    /// <summary>Every use of one folder's type by another's, with the pairs of types that make it.</summary>
    private static Dictionary<(string From, string To), HashSet<string>> FolderEdges()
    {
        var edges = new Dictionary<(string, string), HashSet<string>>();
        foreach (var type in App.Value.Types)
        {
            if (Folder(type) is not { } from || from == "Cli" || IsComposition(type))
            {
                continue;
            }
            foreach (var target in type.Dependencies.Select(d => d.Target))
            {
                if (Folder(target) is { } to && to != from && to != "Cli")
                {
                    if (!edges.TryGetValue((from, to), out var pairs))
                    {
                        edges[(from, to)] = pairs = [];
                    }
                    pairs.Add($"{Outer(type)} uses {Outer(target)}");
                }
            }
        }
        return edges;
    }

    private static bool Reaches(Dictionary<(string From, string To), HashSet<string>> edges, string start, string goal)
    {
        var seen = new HashSet<string> { start };
        var next = new Queue<string>([start]);
        while (next.TryDequeue(out var folder))
        {
            if (folder == goal)
            {
                return true;
            }
            foreach (var (_, to) in edges.Keys.Where(e => e.From == folder))
            {
                if (seen.Add(to))
                {
                    next.Enqueue(to);
                }
            }
        }
        return false;
    }

    /// <summary>The folder a type of the app lives in (the first namespace part under the root), or null for the root itself and for other assemblies' types.</summary>
    private static string? Folder(IType type)
    {
        // Generic parameters and arrays have no namespace of their own.
        var name = type.Namespace?.FullName ?? "";
        return name.StartsWith(Root + ".", StringComparison.Ordinal) ? name[(Root.Length + 1)..].Split('.')[0] : null;
    }

    /// <summary>The type a nested or compiler-made type (a lambda's closure, an async method's state machine) belongs to.</summary>
    private static string Outer(IType type) => type.FullName.Split('+', '/')[0];

    private static bool IsComposition(IType type) => Outer(type).EndsWith("Extensions", StringComparison.Ordinal);
}
