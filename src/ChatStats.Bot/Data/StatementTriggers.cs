namespace ChatStats.Bot.Data;

/// <summary>
/// How both rollups follow their source table: three <c>AFTER … FOR EACH STATEMENT</c> triggers (insert, update, delete),
/// each handing its PL/pgSQL function the statement's transition tables, <c>new_rows</c> and <c>old_rows</c>, so a
/// statement's changes are applied in one grouped query however many rows it touched. <see cref="RollupTriggers"/>
/// keeps <c>chat_hourly</c> and <c>chat_user_totals</c> this way from <c>chat_user_hourly</c>, <see cref="WordRollup"/>
/// queues texts from <c>messages</c>.
/// </summary>
/// <param name="Table">The table whose statements fire them.</param>
/// <param name="Trigger">Trigger names: <c>{Trigger}_inserted</c>, <c>_updated</c>, <c>_deleted</c>.</param>
/// <param name="Function">Function names: <c>{Function}_inserted()</c>, <c>_updated()</c>, <c>_deleted()</c>.</param>
internal sealed record StatementTriggers(string Table, string Trigger, string Function)
{
    /// <summary>
    /// The three functions, each running its body (statements over the transition tables) and returning NULL.
    /// <paramref name="create"/> is <c>CREATE</c>, or <c>CREATE OR REPLACE</c> for a migration that changes a body.
    /// </summary>
    public string Functions(string create, string inserted, string updated, string deleted) => $"""
        {Define(create, "inserted", inserted)}
        {Define(create, "updated", updated)}
        {Define(create, "deleted", deleted)}
        """;

    /// <summary>The triggers themselves; the functions must exist.</summary>
    public string Create => $"""
        CREATE TRIGGER {Trigger}_inserted AFTER INSERT ON {Table} REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION {Function}_inserted();
        CREATE TRIGGER {Trigger}_updated AFTER UPDATE ON {Table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION {Function}_updated();
        CREATE TRIGGER {Trigger}_deleted AFTER DELETE ON {Table} REFERENCING OLD TABLE AS old_rows
          FOR EACH STATEMENT EXECUTE FUNCTION {Function}_deleted();
        """;

    /// <summary>The triggers and their functions gone, whichever of them exist.</summary>
    public string Drop => $"""
        DROP TRIGGER IF EXISTS {Trigger}_inserted ON {Table};
        DROP TRIGGER IF EXISTS {Trigger}_updated ON {Table};
        DROP TRIGGER IF EXISTS {Trigger}_deleted ON {Table};
        DROP FUNCTION IF EXISTS {Function}_inserted();
        DROP FUNCTION IF EXISTS {Function}_updated();
        DROP FUNCTION IF EXISTS {Function}_deleted();
        """;

    private string Define(string create, string change, string body) => $"""
        {create} FUNCTION {Function}_{change}() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN
          {body}
          RETURN NULL;
        END $f$;
        """;
}
