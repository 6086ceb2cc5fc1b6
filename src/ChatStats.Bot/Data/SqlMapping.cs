using System.Data;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Data;

/// <summary>
/// How hand-written SQL meets C# through Dapper: parameters by name (<c>@chat</c> from a property <c>Chat</c>), and
/// rows into records by name — a column <c>user_id</c> fills <c>UserId</c>, in the constructor's order. Npgsql reads a
/// <c>timestamptz</c> as a UTC <see cref="DateTime"/>; records say <see cref="DateTimeOffset"/>, and a handler turns one
/// into the other (and writes offsets as UTC, the only kind <c>timestamptz</c> takes). Dapper's settings are
/// process-wide: every class that maps with Dapper calls <see cref="Apply"/> in its static constructor.
/// </summary>
internal static class SqlMapping
{
    private static int _applied;

    public static void Apply()
    {
        if (Interlocked.Exchange(ref _applied, 1) == 1)
        {
            return;
        }
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        SqlMapper.AddTypeHandler(new UtcDateTimeOffset());
    }

    private sealed class UtcDateTimeOffset : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
            DateTimeOffset offset => offset,
            _ => throw new InvalidCastException($"A {value.GetType().Name} is not a point in time."),
        };

        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.ToUniversalTime();
    }
}

/// <summary>
/// Named parameters on a plain <see cref="NpgsqlCommand"/>, for the hot readers that stream rows or arrays themselves
/// (the word counts, the rollup folds) where Dapper's mapping would add nothing but its own cost: the same names as the
/// Dapper queries (<c>@chat</c>, <c>@first</c>…), typed, so nothing is boxed.
/// </summary>
internal static class NamedParameters
{
    public static NpgsqlCommand With<T>(this NpgsqlCommand command, string name, T value)
    {
        command.Parameters.Add(new NpgsqlParameter<T>(name, value));
        return command;
    }

    public static NpgsqlBatchCommand With<T>(this NpgsqlBatchCommand command, string name, T value)
    {
        command.Parameters.Add(new NpgsqlParameter<T>(name, value));
        return command;
    }
}
