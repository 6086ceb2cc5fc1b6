using System.Collections;
using System.Reflection;
using ChatStats.Bot.Cli;
using ChatStats.Bot.Configuration;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Fuzz;

/// <summary>
/// Every setting of every options section (nested ones too), one at a time, with values an operator could type by
/// mistake: words for numbers, numbers past their type, negatives, NaN, empty. Each is taken, or refused with a line
/// that names its key; never an exception that only a stack trace explains.
/// </summary>
public sealed class ConfigurationFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Values =
        ["abc", "", " ", "-1", "0", "99999999999999999999", "-99999999999999999999", "NaN", "Infinity", "1e400", "1,5", "0x10", "true", "\u0000", "\u202e9", "00:00:-1"];

    [Fact]
    public async Task EverySettingWithAnImpossibleValueIsRefusedNamingItsKey()
    {
        var settings = Settings().ToList();
        Assert.True(settings.Count > 50, $"only {settings.Count} settings found");
        var refused = 0;
        await Fuzz.RunAsync(output, "configuration", settings.Count * 2, c =>
        {
            var (type, section, key) = settings[c.Number % settings.Count];
            var value = c.Pick(Values);
            c.Input = $"{key}={value}";
            var failure = Validate(type, section, new() { [key] = value });
            if (failure is not null)
            {
                refused++;
                Assert.True(failure.Contains(key, StringComparison.OrdinalIgnoreCase) || failure.StartsWith(section + ":", StringComparison.Ordinal),
                    $"{key}='{value}' was refused without naming it: {failure}");
                Fuzz.AssertNoInternals(failure, "the refusal");
            }
            return Task.CompletedTask;
        });
        output.WriteLine($"{settings.Count} settings in {settings.Select(s => s.Section).Distinct().Count()} sections; {refused} values refused");
    }

    /// <summary>What an operator is told, or null when the value was taken.</summary>
    private static string? Validate(Type type, string section, Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(values);
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        typeof(OptionsExtensions).GetMethod(nameof(OptionsExtensions.AddValidatedOptions))!.MakeGenericMethod(type).Invoke(null, [services, section]);
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService(typeof(IOptions<>).MakeGenericType(type));
        try
        {
            _ = options.GetType().GetProperty("Value")!.GetValue(options);
            return null;
        }
        catch (TargetInvocationException ex) when (ex.InnerException is OptionsValidationException invalid)
        {
            return string.Join("; ", invalid.Failures);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is InvalidOperationException bad && ChatStatsCli.ConfigurationValue(bad) is { } line)
        {
            return line;
        }
    }

    /// <summary>Every options class with a Section, and every scalar setting in it and in the objects it holds.</summary>
    private static IEnumerable<(Type Type, string Section, string Key)> Settings()
    {
        foreach (var type in typeof(ChatStatsCli).Assembly.GetTypes())
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() is not string section || type.IsAbstract)
            {
                continue;
            }
            foreach (var key in Keys(type, section, depth: 0))
            {
                yield return (type, section, key);
            }
        }
    }

    private static IEnumerable<string> Keys(Type type, string prefix, int depth)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || typeof(IDictionary).IsAssignableFrom(p.PropertyType)))
        {
            var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var key = $"{prefix}:{property.Name}";
            if (t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(Uri))
            {
                yield return key;
            }
            else if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>) && t.GetGenericArguments()[1] is { IsClass: true } value && value != typeof(string) && depth < 2)
            {
                // A dictionary of objects (Limits:Tiers): its FREE entry stands for the rest.
                foreach (var inner in Keys(value, $"{key}:FREE", depth + 1))
                {
                    yield return inner;
                }
            }
            else if (t.IsClass && t != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(t) && depth < 2)
            {
                foreach (var inner in Keys(t, key, depth + 1))
                {
                    yield return inner;
                }
            }
        }
    }
}
