using Npgsql;
using NpgsqlTypes;

namespace ChatStats.Bot.Data;

/// <summary>
/// Rows sent to PostgreSQL as one array per column and turned back into rows by <c>unnest</c>: one round trip and one
/// statement for thousands of rows. Each column is declared once — its name, its SQL type and what it takes from a
/// row — and both the <c>unnest(…) AS alias(…)</c> clause and the parameters are made from that declaration, so the
/// SQL and the parameters cannot disagree about which array is which.
/// </summary>
internal sealed class UnnestRows<TRow>
{
    private readonly List<IColumn> _columns = [];

    /// <summary>A column: <paramref name="name"/> as the SQL reads it, of <paramref name="sqlType"/> (the element type: <c>bigint</c>, <c>text</c>…).</summary>
    public UnnestRows<TRow> Column<T>(string name, string sqlType, Func<TRow, T> value)
    {
        _columns.Add(new TypedColumn<T>(name, sqlType, value));
        return this;
    }

    /// <summary>
    /// <c>unnest($1::bigint[], …) AS alias(chat_id, …)</c>, with <c>WITH ORDINALITY</c> and a last column named
    /// <paramref name="ordinality"/> when given (a row's position in the batch).
    /// </summary>
    public string From(string alias, string? ordinality = null)
    {
        var arrays = string.Join(", ", _columns.Select((c, i) => $"${i + 1}::{c.SqlType}[]"));
        var names = string.Join(", ", _columns.Select(c => c.Name).Append(ordinality).OfType<string>());
        return $"unnest({arrays}){(ordinality is null ? "" : " WITH ORDINALITY")} AS {alias}({names})";
    }

    /// <summary>A statement over <paramref name="rows"/>: <paramref name="sql"/> reads them through <see cref="From"/> (once).</summary>
    public NpgsqlBatchCommand Command(string sql, IReadOnlyList<TRow> rows)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var column in _columns)
        {
            command.Parameters.Add(column.Values(rows));
        }
        return command;
    }

    private interface IColumn
    {
        string Name { get; }

        string SqlType { get; }

        NpgsqlParameter Values(IReadOnlyList<TRow> rows);
    }

    private sealed record TypedColumn<T>(string Name, string SqlType, Func<TRow, T> Value) : IColumn
    {
        public NpgsqlParameter Values(IReadOnlyList<TRow> rows)
        {
            var values = new T[rows.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Value(rows[i]);
            }
            var parameter = new NpgsqlParameter<T[]> { TypedValue = values };
            if (typeof(T) == typeof(DateTime) || typeof(T) == typeof(DateTime?))
            {
                // An array that starts with nulls gives Npgsql nothing to infer the kind from; say it is UTC.
                parameter.NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz;
            }
            return parameter;
        }
    }
}
