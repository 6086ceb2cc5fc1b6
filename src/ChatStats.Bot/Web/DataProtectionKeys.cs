using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace ChatStats.Bot.Web;

/// <summary>
/// ASP.NET Core's data-protection keys (what the admin sign-in cookie and antiforgery tokens are protected with) in
/// PostgreSQL: a sign-in survives a restart of the web role, and holds across several web processes behind a load
/// balancer. The default, a directory in the service user's home, is neither shared nor always writable.
/// </summary>
internal sealed class DataProtectionKeys(NpgsqlDataSource dataSource) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var cmd = dataSource.CreateCommand("SELECT xml FROM data_protection_keys ORDER BY id");
        using var reader = cmd.ExecuteReader();
        var keys = new List<XElement>();
        while (reader.Read())
        {
            keys.Add(XElement.Parse(reader.GetString(0)));
        }
        return keys;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var cmd = dataSource.CreateCommand("INSERT INTO data_protection_keys (friendly_name, xml, created_at) VALUES (@name, @xml, now())");
        cmd.Parameters.Add(new NpgsqlParameter<string>("name", friendlyName));
        cmd.Parameters.Add(new NpgsqlParameter<string>("xml", element.ToString(SaveOptions.DisableFormatting)));
        cmd.ExecuteNonQuery();
    }
}
