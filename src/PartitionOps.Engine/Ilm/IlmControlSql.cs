using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm;

/// <summary>
/// SQL over the ILM control tables (audit, execution log, config) that is the same on every engine but
/// for three things each dialect supplies: its parameter marker, "N days ago" and the row limit. One copy
/// of the spec's columns and statements, so the dialects cannot drift apart. Text only.
/// </summary>
internal sealed class IlmControlSql(Func<string, string> marker, Func<string, string> daysAgo, Func<string, string> firstRows)
{
    /// <summary>The spec's columns of dwh_ilm_partition_merges, in its order.</summary>
    public const string AuditColumns =
        "merge_id, merge_date, table_owner, table_name, source_partition, target_partition, merge_status, error_message, " +
        "duration_seconds, rows_merged";

    /// <summary>Decimals of the durations the statistics return (the executor writes seconds to 3 decimals).</summary>
    public const int SecondsScale = 3;

    private string M(string name) => marker(name);

    private static SqlParameter P(string name, object? value) => new(name, value);

    /// <summary>VARCHAR2(4000) / the spec's error_message width.</summary>
    public static string? Truncate(string? text) => text is { Length: > 4000 } ? text[..4000] : text;

    public SqlStatement ReadConfig(string configTable) =>
        new($"SELECT config_key, config_value, description FROM {configTable} ORDER BY config_key");

    public SqlStatement InsertMergeAudit(string mergesTable, MergeAuditEntry e) => SqlStatement.Of(
        $"INSERT INTO {mergesTable} (table_owner, table_name, source_partition, target_partition, merge_status, error_message, " +
        "duration_seconds, rows_merged) " +
        $"VALUES ({M("table_owner")}, {M("table_name")}, {M("source_partition")}, {M("target_partition")}, {M("merge_status")}, " +
        $"{M("error_message")}, {M("duration_seconds")}, {M("rows_merged")})",
        AuditParameters(e));

    public SqlStatement CompleteMergeAudit(string mergesTable, MergeAuditEntry e) => SqlStatement.Of(
        $"UPDATE {mergesTable} SET merge_status = {M("merge_status")}, error_message = {M("error_message")}, " +
        $"duration_seconds = {M("duration_seconds")}, rows_merged = {M("rows_merged")} " +
        $"WHERE table_owner = {M("table_owner")} AND table_name = {M("table_name")} AND source_partition = {M("source_partition")} " +
        $"AND target_partition = {M("target_partition")} AND merge_status = 'IN_PROGRESS'",
        AuditParameters(e));

    private static SqlParameter[] AuditParameters(MergeAuditEntry e) =>
    [
        P("table_owner", e.TableOwner), P("table_name", e.TableName), P("source_partition", e.SourcePartition),
        P("target_partition", e.TargetPartition), P("merge_status", e.Status), P("error_message", Truncate(e.ErrorMessage)),
        P("duration_seconds", e.DurationSeconds), P("rows_merged", e.RowsMerged),
    ];

    /// <summary>Owner and table come already in the catalog's letter case.</summary>
    public SqlStatement MergeHistory(string mergesTable, string? owner, string? table, int maxRows)
    {
        var where = new List<string>();
        var parameters = new List<SqlParameter>();
        if (owner != null) { where.Add($"table_owner = {M("table_owner")}"); parameters.Add(P("table_owner", owner)); }
        if (table != null) { where.Add($"table_name = {M("table_name")}"); parameters.Add(P("table_name", table)); }
        parameters.Add(P("max_rows", maxRows));
        var filter = where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "";
        return new SqlStatement(
            $"SELECT {AuditColumns} FROM {mergesTable}{filter} ORDER BY merge_id DESC {firstRows(M("max_rows"))}",
            parameters);
    }

    public SqlStatement InProgressMerges(string mergesTable, string owner, string table) => SqlStatement.Of(
        $"SELECT {AuditColumns} FROM {mergesTable} " +
        $"WHERE table_owner = {M("table_owner")} AND table_name = {M("table_name")} AND merge_status = 'IN_PROGRESS' ORDER BY merge_id",
        P("table_owner", owner), P("table_name", table));

    public SqlStatement LatestMergeStatus(string mergesTable, string owner, string table) => SqlStatement.Of(
        $"SELECT m.source_partition, m.merge_status, m.merge_date FROM {mergesTable} m " +
        $"WHERE m.table_owner = {M("table_owner")} AND m.table_name = {M("table_name")} " +
        $"AND m.merge_id = (SELECT MAX(x.merge_id) FROM {mergesTable} x " +
        "WHERE x.table_owner = m.table_owner AND x.table_name = m.table_name " +
        "AND x.source_partition = m.source_partition AND x.merge_status <> 'SKIPPED')",
        P("table_owner", owner), P("table_name", table));

    /// <summary>
    /// The table comes already in the catalog's letter case. Durations are rounded in SQL to the 3 decimals the executor
    /// writes: Oracle's AVG returns a NUMBER of up to 38 significant digits (1/3 of a second has 38), which ODP.NET
    /// refuses to read into a .NET decimal (InvalidCastException, 28-29 digits at most); MAX is rounded too because rows
    /// written by other tools (the spec's PL/SQL package) may hold such values. ROUND(n, integer) returns NUMBER:
    /// https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/ROUND-number.html (the same text, checked,
    /// at .../oracle-database/23/sqlrf/ROUND-number.html); PostgreSQL's round(numeric, int) does the same.
    /// The counts are whole numbers and need nothing.
    /// </summary>
    public SqlStatement MergeStatistics(string mergesTable, string? table, int days)
    {
        var parameters = new List<SqlParameter> { P("days", days) };
        var filter = "";
        if (table != null) { filter = $" AND table_name = {M("table_name")}"; parameters.Add(P("table_name", table)); }
        return new SqlStatement(
            "SELECT COUNT(*) AS total_merges, " +
            "SUM(CASE WHEN merge_status = 'SUCCESS' THEN 1 ELSE 0 END) AS succeeded, " +
            "SUM(CASE WHEN merge_status = 'FAILED' THEN 1 ELSE 0 END) AS failed, " +
            $"ROUND(AVG(CASE WHEN merge_status = 'SUCCESS' THEN duration_seconds END), {SecondsScale}) AS avg_success_seconds, " +
            $"ROUND(MAX(duration_seconds), {SecondsScale}) AS max_seconds " +
            $"FROM {mergesTable} " +
            $"WHERE merge_status IN ('SUCCESS', 'FAILED') AND merge_date > {daysAgo(M("days"))}{filter}",
            parameters);
    }

    /// <summary>The table comes already in the catalog's letter case.</summary>
    public SqlStatement StaleFailedMerges(string mergesTable, string? table, int days)
    {
        var parameters = new List<SqlParameter> { P("days", days) };
        var filter = "";
        if (table != null) { filter = $" AND m.table_name = {M("table_name")}"; parameters.Add(P("table_name", table)); }
        return new SqlStatement(
            $"SELECT COUNT(*) FROM {mergesTable} m WHERE m.merge_status = 'FAILED' AND m.merge_date < {daysAgo(M("days"))}{filter} " +
            $"AND m.merge_id = (SELECT MAX(x.merge_id) FROM {mergesTable} x " +
            "WHERE x.table_owner = m.table_owner AND x.table_name = m.table_name " +
            "AND x.source_partition = m.source_partition AND x.merge_status <> 'SKIPPED')",
            parameters);
    }

    public SqlStatement InsertExecutionLog(string logTable, ExecutionLogEntry e) => SqlStatement.Of(
        $"INSERT INTO {logTable} (table_owner, table_name, partition_name, action, source_tablespace, target_tablespace, status, " +
        "error_message, duration_seconds, sql_text) " +
        $"VALUES ({M("table_owner")}, {M("table_name")}, {M("partition_name")}, {M("action")}, {M("source_tablespace")}, " +
        $"{M("target_tablespace")}, {M("status")}, {M("error_message")}, {M("duration_seconds")}, {M("sql_text")})",
        P("table_owner", e.TableOwner), P("table_name", e.TableName), P("partition_name", e.PartitionName), P("action", e.Action),
        P("source_tablespace", e.SourceTablespace), P("target_tablespace", e.TargetTablespace), P("status", e.Status),
        P("error_message", Truncate(e.ErrorMessage)), P("duration_seconds", e.DurationSeconds), P("sql_text", Truncate(e.SqlText)));
}
