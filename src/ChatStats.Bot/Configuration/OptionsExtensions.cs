using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Configuration;

internal static class OptionsExtensions
{
    /// <summary>Binds <typeparamref name="T"/> to <paramref name="section"/> and fails start-up with "Section:Key: what is wrong".</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class
    {
        // Several roles ask for the same section: bind and validate it once, or each problem would be reported twice.
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<T>) && d.ImplementationInstance is KeyNamingValidator<T>))
        {
            return services.AddOptions<T>();
        }
        services.AddSingleton<IValidateOptions<T>>(new KeyNamingValidator<T>(section));
        return services.AddOptions<T>().BindConfiguration(section).ValidateOnStart();
    }

    /// <summary>One line per failure across all options, for a fatal start-up message.</summary>
    public static IEnumerable<string> Lines(this OptionsValidationException ex) => ex.Failures;

    private sealed class KeyNamingValidator<T>(string section) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var results = new List<ValidationResult>();
            if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            {
                return ValidateOptionsResult.Success;
            }
            var failures = results.Select(r =>
            {
                var member = r.MemberNames.FirstOrDefault();
                return member is null ? $"{section}: {r.ErrorMessage}" : $"{section}:{member}: {r.ErrorMessage}";
            });
            return ValidateOptionsResult.Fail(failures);
        }
    }
}
