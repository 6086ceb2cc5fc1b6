using StackExchange.Redis;

namespace ChatStats.Bot.Configuration;

/// <summary>REDIS_URL (redis:// or rediss://, the form Heroku, Render and docker-compose files use) to StackExchange.Redis's form.</summary>
internal static class RedisUrl
{
    public static bool TryToConfiguration(string url, out string configuration, out string error)
    {
        configuration = "";
        error = "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
        {
            error = "expected redis://[:password@]host[:port][/database] or rediss://…";
            return false;
        }
        var options = new ConfigurationOptions { Ssl = uri.Scheme == "rediss" };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            var user = Uri.UnescapeDataString(parts[0]);
            var password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
            // redis://:secret@host has no user: the password alone, as Redis before ACLs took it.
            if (parts.Length == 1)
            {
                options.Password = user;
            }
            else
            {
                options.User = user.Length > 0 ? user : null;
                options.Password = password;
            }
        }
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var database) || database > 15)
            {
                error = $"the database '{path}' is not a number from 0 to 15";
                return false;
            }
            options.DefaultDatabase = database;
        }
        configuration = options.ToString(includePassword: true);
        return true;
    }
}
