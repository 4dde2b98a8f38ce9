-- CreateControlTables
SELECT pg_advisory_xact_lock(hashtextextended(@resource, 0)), set_config('partitionops.control_schema', @control_schema, true);
DO $$
BEGIN
    IF to_regnamespace(quote_ident(current_setting('partitionops.control_schema'))) IS NULL THEN
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', current_setting('partitionops.control_schema'));
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS "partitionops".schema_version (
    component text PRIMARY KEY,
    version int NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS "partitionops".backfill_run (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_schema text NOT NULL,
    table_name text NOT NULL,
    column_name text NOT NULL,
    direction text NOT NULL,
    status text NOT NULL,
    host text,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    options text);
CREATE TABLE IF NOT EXISTS "partitionops".backfill_checkpoint (
    run_id bigint NOT NULL REFERENCES "partitionops".backfill_run (run_id),
    type_id int NOT NULL,
    type_name text NOT NULL,
    target_value int NOT NULL,
    last_key bigint NOT NULL,
    high_water_mark bigint,
    estimated_rows bigint,
    rows_scanned bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    batches bigint NOT NULL DEFAULT 0,
    lock_waits bigint NOT NULL DEFAULT 0,
    status text NOT NULL,
    host text,
    started_at timestamptz,
    updated_at timestamptz,
    completed_at timestamptz,
    last_error text,
    PRIMARY KEY (run_id, type_id));
CREATE TABLE IF NOT EXISTS "partitionops".backfill_control (
    table_schema text NOT NULL,
    table_name text NOT NULL,
    column_name text NOT NULL,
    stop_requested boolean NOT NULL DEFAULT false,
    requested_by text,
    requested_at timestamptz,
    PRIMARY KEY (table_schema, table_name, column_name));
INSERT INTO "partitionops".schema_version (component, version) VALUES ('backfill', 1) ON CONFLICT (component) DO NOTHING;

-- ControlTablesExist
SELECT CASE WHEN to_regclass(@relation) IS NULL THEN 0 ELSE 1 END;

-- InsertRun
INSERT INTO "partitionops".backfill_run (table_schema, table_name, column_name, direction, status, host, options)
VALUES (@table_schema, @table_name, @column_name, @direction, 'running', @host, @options)
RETURNING run_id;

-- LatestRun
SELECT run_id, direction, status, host, started_at, ended_at
FROM "partitionops".backfill_run
WHERE table_schema = @table_schema AND table_name = @table_name AND column_name = @column_name
ORDER BY run_id DESC
LIMIT 1;

-- SetRunStatus
UPDATE "partitionops".backfill_run
SET status = @status, host = @host, ended_at = CASE WHEN @ended = 1 THEN now() END
WHERE run_id = @run_id;

-- InsertCheckpoint
INSERT INTO "partitionops".backfill_checkpoint
    (run_id, type_id, type_name, target_value, last_key, high_water_mark, estimated_rows, status)
VALUES (@run_id, @type_id, @type_name, @target_value, @last_key, @high_water_mark, @estimated_rows, 'pending')
ON CONFLICT (run_id, type_id) DO NOTHING;

-- ReadCheckpoints
SELECT run_id, type_id, type_name, target_value, last_key, high_water_mark, estimated_rows,
       rows_scanned, rows_updated, batches, lock_waits, status, host,
       started_at, updated_at, completed_at, last_error
FROM "partitionops".backfill_checkpoint
WHERE run_id = @run_id
ORDER BY type_name;

-- UpdateCheckpointStatus
UPDATE "partitionops".backfill_checkpoint
SET status = @status, host = @host, high_water_mark = @high_water_mark, last_error = @last_error,
    updated_at = now(),
    -- Work resumed after a pause (or a final pass after waiting for the other types): the idle time does not
    -- count, so rows_scanned / (updated_at - started_at) stays the working rate.
    started_at = CASE WHEN started_at IS NULL THEN now()
        WHEN status IN ('paused', 'failed', 'pending', 'done') AND @status IN ('running', 'catch-up', 'sweep')
            THEN started_at + (now() - updated_at)
        ELSE started_at END,
    completed_at = CASE WHEN @status = 'done' THEN now() ELSE completed_at END
WHERE run_id = @run_id AND type_id = @type_id;

-- AddLockWaits
UPDATE "partitionops".backfill_checkpoint
SET lock_waits = lock_waits + @lock_waits, updated_at = now()
WHERE run_id = @run_id AND type_id = @type_id;

-- SetStopFlag
INSERT INTO "partitionops".backfill_control (table_schema, table_name, column_name, stop_requested, requested_by, requested_at)
VALUES (@table_schema, @table_name, @column_name, @stop_requested = 1, @requested_by, now())
ON CONFLICT (table_schema, table_name, column_name)
DO UPDATE SET stop_requested = EXCLUDED.stop_requested, requested_by = EXCLUDED.requested_by, requested_at = EXCLUDED.requested_at;

-- ReadStopFlag
SELECT COALESCE(max(CASE WHEN stop_requested THEN 1 ELSE 0 END), 0)
FROM "partitionops".backfill_control
WHERE table_schema = @table_schema AND table_name = @table_name AND column_name = @column_name;

-- TryAcquireAppLock
SELECT CASE WHEN pg_try_advisory_lock(hashtextextended(@resource, 0)) THEN 1 ELSE 0 END;

-- ReleaseAppLock
SELECT pg_advisory_unlock(hashtextextended(@resource, 0));

-- ServerInfo
SELECT version() AS version,
       current_setting('server_version_num')::int / 10000 AS major_version,
       'PostgreSQL' AS edition,
       1 AS supports_online_index,
       0 AS supports_resumable_index,
       1 AS metadata_only_add_column;

-- SchemaExists
SELECT count(*)::int FROM pg_namespace WHERE nspname = @schema;

-- TableInfo
SELECT CASE WHEN c.relkind = 'p' THEN 1 ELSE 0 END AS is_partitioned
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = @schema AND c.relname = @table AND c.relkind IN ('r', 'p');

-- ViewBaseTables
SELECT bn.nspname::text AS base_schema, b.relname::text AS base_table
FROM pg_class v
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_rewrite r ON r.ev_class = v.oid
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
JOIN pg_class b ON b.oid = d.refobjid AND b.oid <> v.oid AND b.relkind IN ('r', 'p', 'v', 'm', 'f')
JOIN pg_namespace bn ON bn.oid = b.relnamespace
WHERE vn.nspname = @schema AND v.relname = @table AND v.relkind IN ('v', 'm')
GROUP BY bn.nspname, b.relname
ORDER BY 1, 2;

-- TableRowEstimate
SELECT COALESCE(sum(greatest(c.reltuples, 0)), 0)::bigint AS table_rows
FROM pg_class c
WHERE c.relkind = 'r'
  AND (c.oid = format('%I.%I', @schema::text, @table::text)::regclass
       OR c.oid IN (SELECT t.relid FROM pg_partition_tree(format('%I.%I', @schema::text, @table::text)::regclass) AS t));

-- MaxRowBytes
SELECT CAST(NULL AS int) AS max_row_bytes;

-- Columns
SELECT a.attname::text AS column_name,
       format_type(a.atttypid, NULL) AS data_type,
       CASE WHEN a.attnotnull THEN 0 ELSE 1 END AS is_nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default_value
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = @schema AND c.relname = @table AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;

-- Partitions
WITH RECURSIVE tree AS (
    SELECT c.oid, 0 AS level
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = @schema AND c.relname = @table
    UNION ALL
    SELECT i.inhrelid, t.level + 1 FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
SELECT n.nspname::text AS partition_schema, c.relname::text AS partition_name,
       pn.nspname::text AS parent_schema, p.relname::text AS parent_name,
       CASE WHEN c.relkind = 'r' THEN 1 ELSE 0 END AS is_leaf, t.level
FROM tree t
JOIN pg_class c ON c.oid = t.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_inherits h ON h.inhrelid = c.oid
JOIN pg_class p ON p.oid = h.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relispartition
ORDER BY t.level, 1, 2;

-- Indexes
WITH RECURSIVE tree AS (
    SELECT c.oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = @schema AND c.relname = @table
    UNION ALL
    SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
SELECT n.nspname::text AS object_schema, c.relname::text AS object_name, i.relname::text AS index_name,
       CASE WHEN x.indisvalid THEN 1 ELSE 0 END AS is_valid, 0 AS is_paused, NULL::int AS paused_max_dop
FROM tree t
JOIN pg_index x ON x.indrelid = t.oid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = t.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, 2, 3;

-- LookupTypes
SELECT "ResourceTypeId"::int AS type_id, "Name"::text AS name
FROM "public"."ResourceType";

-- EstimatedRowsPerType
WITH RECURSIVE tree AS (
    SELECT c.oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = @schema AND c.relname = @table
    UNION ALL
    SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
SELECT v.type_value::int AS type_id, sum(v.freq * greatest(c.reltuples, 0))::bigint AS estimated_rows
FROM tree t
JOIN pg_class c ON c.oid = t.oid AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = @type_column AND NOT s.inherited
CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(type_value, freq)
GROUP BY v.type_value;

-- Permissions
SELECT 'alter_table' AS permission,
       CASE WHEN pg_has_role(current_user, c.relowner, 'USAGE') THEN 1 ELSE 0 END AS granted,
       'ownership of the table (or membership in its owner role)' AS needs
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = @schema AND c.relname = @table
UNION ALL
SELECT 'update_table', CASE WHEN has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'UPDATE') THEN 1 ELSE 0 END,
       'SELECT and UPDATE on the table'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = @schema AND c.relname = @table
UNION ALL
SELECT 'create_control_schema',
       CASE WHEN ns.oid IS NULL THEN CASE WHEN has_database_privilege(current_database(), 'CREATE') THEN 1 ELSE 0 END
            ELSE CASE WHEN has_schema_privilege(ns.oid, 'USAGE') AND has_schema_privilege(ns.oid, 'CREATE') THEN 1 ELSE 0 END END,
       CASE WHEN ns.oid IS NULL THEN 'CREATE on the database (control schema ' || quote_ident(@control_schema) || ' does not exist yet)'
            ELSE 'USAGE and CREATE on schema ' || quote_ident(@control_schema) || ' (it exists)' END
FROM (SELECT (SELECT oid FROM pg_namespace WHERE nspname = @control_schema) AS oid) AS ns;

-- ThrottleSignals
SELECT 'replica_lag_seconds' AS signal,
       COALESCE(max(extract(epoch FROM replay_lag)), 0)::float8 AS value
FROM pg_stat_replication
UNION ALL
SELECT 'blocked_by_us', count(*)::float8
FROM pg_stat_activity w
WHERE w.pid <> pg_backend_pid()
  AND EXISTS (SELECT 1 FROM pg_stat_activity b
              WHERE b.pid = ANY (pg_blocking_pids(w.pid)) AND b.application_name LIKE 'partitionops%');

-- SetLockTimeout
SET lock_timeout = '5000ms';

-- AddPartitionColumn
ALTER TABLE "public"."Resource" ADD COLUMN IF NOT EXISTS "PartitionId" smallint NOT NULL DEFAULT 2;

-- BuildFilteredIndex plain
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_Version" ON "public"."Resource" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 2;

-- BuildFilteredIndex partitioned
CREATE UNIQUE INDEX IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" ON ONLY "public"."Resource" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId__0302c809" ON "public"."Resource_1" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1;
ALTER INDEX "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" ATTACH PARTITION "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId__0302c809";

-- BuildFilteredIndex sub-partitioned
CREATE UNIQUE INDEX IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" ON ONLY "public"."Resource" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1;
CREATE UNIQUE INDEX IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId__9798b2e7" ON ONLY "public"."Resource_sys" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId__0302c809" ON "public"."Resource_1" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1;
ALTER INDEX "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" ATTACH PARTITION "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId__0302c809";
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId__103ec950" ON "public"."Resource_sys_h0" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1;
ALTER INDEX "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId__9798b2e7" ATTACH PARTITION "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId__103ec950";
ALTER INDEX "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" ATTACH PARTITION "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId__9798b2e7";

-- BuildFilteredIndex prototype IX_Resource_SystemPartition_ResourceTypeId_ResourceId
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId" ON "public"."Resource" ("ResourceTypeId", "ResourceId") INCLUDE ("Version", "IsDeleted") WHERE "PartitionId" = 1 AND "IsHistory" = false;

-- BuildFilteredIndex prototype IX_Resource_DefaultPartition_ResourceTypeId_ResourceId
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_DefaultPartition_ResourceTypeId_ResourceId" ON "public"."Resource" ("ResourceTypeId", "ResourceId") INCLUDE ("Version", "IsDeleted") WHERE "PartitionId" = 2 AND "IsHistory" = false;

-- BuildFilteredIndex prototype partitioned
CREATE UNIQUE INDEX IF NOT EXISTS "IX_Resource_DefaultPartition_ResourceTypeId_ResourceId" ON ONLY "public"."Resource" ("ResourceTypeId", "ResourceId") INCLUDE ("Version", "IsDeleted") WHERE "PartitionId" = 2 AND "IsHistory" = false;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_06d9567e" ON "public"."Resource_1" ("ResourceTypeId", "ResourceId") INCLUDE ("Version", "IsDeleted") WHERE "PartitionId" = 2 AND "IsHistory" = false;
ALTER INDEX "public"."IX_Resource_DefaultPartition_ResourceTypeId_ResourceId" ATTACH PARTITION "public"."IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_06d9567e";

-- HighWaterMark
SELECT max("ResourceSurrogateId")::bigint FROM "public"."Resource" WHERE "ResourceTypeId" = @type_id;

-- Batch
WITH next_range AS (
    SELECT max(k) AS range_end, count(*)::int AS rows_scanned
    FROM (SELECT "ResourceSurrogateId" AS k
          FROM "public"."Resource"
          WHERE "ResourceTypeId" = @type_id AND "ResourceSurrogateId" > @last_key AND "ResourceSurrogateId" <= @high_water_mark
          ORDER BY "ResourceSurrogateId"
          LIMIT @batch_size) AS next_keys),
updated AS (
    UPDATE "public"."Resource" AS r
    SET "PartitionId" = @target_value
    WHERE r."ResourceTypeId" = @type_id AND r."ResourceSurrogateId" > @last_key
      AND r."ResourceSurrogateId" <= (SELECT range_end FROM next_range)
      AND r."PartitionId" <> @target_value
    RETURNING 1),
counted AS (SELECT count(*)::int AS rows_updated FROM updated),
checkpoint AS (
    UPDATE "partitionops".backfill_checkpoint AS c
    SET last_key = next_range.range_end, rows_scanned = c.rows_scanned + next_range.rows_scanned,
        rows_updated = c.rows_updated + counted.rows_updated, batches = c.batches + 1, updated_at = now()
    FROM next_range, counted
    WHERE c.run_id = @run_id AND c.type_id = @type_id AND next_range.range_end IS NOT NULL)
SELECT next_range.range_end, next_range.rows_scanned, counted.rows_updated
FROM next_range, counted;

-- Sweep
WITH stragglers AS (
    SELECT "ResourceSurrogateId" AS k
    FROM "public"."Resource"
    WHERE "ResourceTypeId" = @type_id AND "ResourceSurrogateId" <= @upto_key AND "PartitionId" = @source_value
    -- In the filtered indexes' order, so the planner reads the one of @source_value (it holds only the stragglers
    -- of a walked type) even with statistics from before the walk; in key order it walks the primary key
    -- through every row of the type again, on every sweep. Any order will do: each batch takes what is left.
    ORDER BY "ResourceTypeId", "ResourceId", "Version"
    LIMIT @batch_size),
updated AS (
    UPDATE "public"."Resource" AS r
    SET "PartitionId" = @target_value
    FROM stragglers
    WHERE r."ResourceTypeId" = @type_id AND r."ResourceSurrogateId" = stragglers.k AND r."PartitionId" = @source_value
    RETURNING 1),
counted AS (SELECT count(*)::int AS rows_updated FROM updated),
checkpoint AS (
    UPDATE "partitionops".backfill_checkpoint AS c
    SET rows_updated = c.rows_updated + counted.rows_updated, batches = c.batches + 1, updated_at = now()
    FROM counted
    WHERE c.run_id = @run_id AND c.type_id = @type_id AND counted.rows_updated > 0)
SELECT counted.rows_updated FROM counted;

-- ExactCounts
SELECT "ResourceTypeId"::int AS type_id, count(*) AS total_rows,
       count(*) FILTER (WHERE "PartitionId" = @system_value) AS system_rows,
       count(*) FILTER (WHERE "PartitionId" = @default_value) AS default_rows
FROM "public"."Resource"
GROUP BY "ResourceTypeId";

-- Misplaced
SELECT "ResourceTypeId"::int AS type_id, count(*) AS misplaced_rows
FROM "public"."Resource"
WHERE ("ResourceTypeId" IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND "PartitionId" <> @system_value)
   OR ("ResourceTypeId" NOT IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND "PartitionId" <> @default_value)
GROUP BY "ResourceTypeId";

-- MisplacedSinceRun
SELECT r."ResourceTypeId"::int AS type_id, count(*) AS misplaced_rows,
       count(*) FILTER (WHERE r."ResourceSurrogateId" > c.high_water_mark) AS written_after_run
FROM "public"."Resource" AS r
LEFT JOIN "partitionops".backfill_checkpoint AS c ON c.run_id = @run_id AND c.type_id = r."ResourceTypeId"
WHERE (r."ResourceTypeId" IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND r."PartitionId" <> @system_value)
   OR (r."ResourceTypeId" NOT IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND r."PartitionId" <> @default_value)
GROUP BY r."ResourceTypeId";

