namespace PartitionOps.Engine.Providers.PostgreSql;

/// <summary>
/// The first statements of every control-table creation on PostgreSQL (backfill and ILM share the schema).
/// Two first-time creators at the same instant both pass IF NOT EXISTS and one fails on the catalog's unique
/// indexes (pg_namespace, pg_type: SQLSTATE 23505). The first statement takes a transaction-level advisory
/// lock on the control schema's name, so in the caller's transaction creators run one after the other and the
/// later ones find everything there. The statements must run in one transaction: the lock and the schema name
/// setting last until its end.
/// https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS
/// </summary>
public static class PostgreSqlControlSchema
{
    public static IReadOnlyList<SqlStatement> LockAndCreate(string controlSchema) =>
    [
        SqlStatement.Of(
            "SELECT pg_advisory_xact_lock(hashtextextended(@resource, 0)), " +
            "set_config('partitionops.control_schema', @control_schema, true)",
            new SqlParameter("resource", ControlTables.CreationLock(controlSchema)), new SqlParameter("control_schema", controlSchema)),
        // Only when missing: CREATE SCHEMA IF NOT EXISTS would demand CREATE on the database even for a schema
        // a DBA created for us. The name comes from the transaction-local setting above, never from the text.
        new("""
            DO $$
            BEGIN
                IF to_regnamespace(quote_ident(current_setting('partitionops.control_schema'))) IS NULL THEN
                    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', current_setting('partitionops.control_schema'));
                END IF;
            END
            $$
            """),
    ];
}
