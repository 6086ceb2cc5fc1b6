using System.Globalization;
using Npgsql;

namespace ChatStats.Bot.Configuration;

/// <summary>Turns <c>postgres://user:pass@host:port/db?sslmode=require</c> into an Npgsql connection string.</summary>
internal static class DatabaseUrl
{
    public static bool TryToConnectionString(string url, out string connectionString, out string error)
    {
        connectionString = "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql"))
        {
            error = "expected postgres://user:password@host:port/database";
            return false;
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0)
        {
            error = "the URL names no database (…/database)";
            return false;
        }
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = database,
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    if (!Enum.TryParse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode))
                    {
                        error = $"unknown sslmode '{value}'";
                        return false;
                    }
                    builder.SslMode = mode;
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                default:
                    try
                    {
                        builder[key] = value;
                    }
                    catch (ArgumentException)
                    {
                        error = $"unknown parameter '{key}'";
                        return false;
                    }
                    break;
            }
        }
        connectionString = builder.ConnectionString;
        error = "";
        return true;
    }

    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return string.Create(CultureInfo.InvariantCulture, $"{b.Username}@{b.Host}:{b.Port}/{b.Database}");
    }
}
