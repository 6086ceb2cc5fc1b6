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
            // Property by property first: a [Range] with whole-number bounds converts the value, and 1e20 for a double
            // setting overflows there — an exception, where the operator needs the key and what it takes.
            foreach (var property in typeof(T).GetProperties().Where(p => p.GetIndexParameters().Length == 0 && p.IsDefined(typeof(ValidationAttribute), inherit: true)))
            {
                try
                {
                    Validator.TryValidateProperty(property.GetValue(options), new ValidationContext(options) { MemberName = property.Name }, results);
                }
                catch (Exception ex) when (ex is OverflowException or InvalidCastException or FormatException or ArgumentException)
                {
                    results.Add(new ValidationResult($"{property.GetValue(options)} is far outside the range this setting takes", [property.Name]));
                }
            }
            if (results.Count == 0 && Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
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
