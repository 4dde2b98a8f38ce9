-- ReadConfig
SELECT config_key, config_value, description FROM "CTL"."DWH_ILM_CONFIG" ORDER BY config_key;

-- InsertMergeAudit
INSERT INTO "CTL"."DWH_ILM_PARTITION_MERGES" (table_owner, table_name, source_partition, target_partition, merge_status, error_message, duration_seconds, rows_merged) VALUES (:table_owner, :table_name, :source_partition, :target_partition, :merge_status, :error_message, :duration_seconds, :rows_merged);
--   table_owner = CMR
--   table_name = SALES_PART
--   source_partition = P_2023_11
--   target_partition = P_2023
--   merge_status = FAILED
--   error_message = <4000 chars>
--   duration_seconds = 2.5
--   rows_merged = 42

-- CompleteMergeAudit
UPDATE "DWH_ILM_PARTITION_MERGES" SET merge_status = :merge_status, error_message = :error_message, duration_seconds = :duration_seconds, rows_merged = :rows_merged WHERE table_owner = :table_owner AND table_name = :table_name AND source_partition = :source_partition AND target_partition = :target_partition AND merge_status = 'IN_PROGRESS';
--   table_owner = CMR
--   table_name = SALES_PART
--   source_partition = P_2023_11
--   target_partition = P_2023
--   merge_status = FAILED
--   error_message = <4000 chars>
--   duration_seconds = 2.5
--   rows_merged = 42

-- MergeHistory all
SELECT merge_id, merge_date, table_owner, table_name, source_partition, target_partition, merge_status, error_message, duration_seconds, rows_merged FROM "CTL"."DWH_ILM_PARTITION_MERGES" ORDER BY merge_id DESC FETCH FIRST :max_rows ROWS ONLY;
--   max_rows = 50

-- MergeHistory filtered
SELECT merge_id, merge_date, table_owner, table_name, source_partition, target_partition, merge_status, error_message, duration_seconds, rows_merged FROM "CTL"."DWH_ILM_PARTITION_MERGES" WHERE table_owner = :table_owner AND table_name = :table_name ORDER BY merge_id DESC FETCH FIRST :max_rows ROWS ONLY;
--   table_owner = CMR
--   table_name = SALES_PART
--   max_rows = 20

-- InProgressMerges
SELECT merge_id, merge_date, table_owner, table_name, source_partition, target_partition, merge_status, error_message, duration_seconds, rows_merged FROM "CTL"."DWH_ILM_PARTITION_MERGES" WHERE table_owner = :table_owner AND table_name = :table_name AND merge_status = 'IN_PROGRESS' ORDER BY merge_id;
--   table_owner = CMR
--   table_name = SALES_PART

-- LatestMergeStatus
SELECT m.source_partition, m.merge_status, m.merge_date FROM "CTL"."DWH_ILM_PARTITION_MERGES" m WHERE m.table_owner = :table_owner AND m.table_name = :table_name AND m.merge_id = (SELECT MAX(x.merge_id) FROM "CTL"."DWH_ILM_PARTITION_MERGES" x WHERE x.table_owner = m.table_owner AND x.table_name = m.table_name AND x.source_partition = m.source_partition AND x.merge_status <> 'SKIPPED');
--   table_owner = CMR
--   table_name = SALES_PART

-- MergeStatistics all
SELECT COUNT(*) AS total_merges, SUM(CASE WHEN merge_status = 'SUCCESS' THEN 1 ELSE 0 END) AS succeeded, SUM(CASE WHEN merge_status = 'FAILED' THEN 1 ELSE 0 END) AS failed, ROUND(AVG(CASE WHEN merge_status = 'SUCCESS' THEN duration_seconds END), 3) AS avg_success_seconds, ROUND(MAX(duration_seconds), 3) AS max_seconds FROM "CTL"."DWH_ILM_PARTITION_MERGES" WHERE merge_status IN ('SUCCESS', 'FAILED') AND merge_date > SYSTIMESTAMP - NUMTODSINTERVAL(:days, 'DAY');
--   days = 7

-- MergeStatistics table
SELECT COUNT(*) AS total_merges, SUM(CASE WHEN merge_status = 'SUCCESS' THEN 1 ELSE 0 END) AS succeeded, SUM(CASE WHEN merge_status = 'FAILED' THEN 1 ELSE 0 END) AS failed, ROUND(AVG(CASE WHEN merge_status = 'SUCCESS' THEN duration_seconds END), 3) AS avg_success_seconds, ROUND(MAX(duration_seconds), 3) AS max_seconds FROM "CTL"."DWH_ILM_PARTITION_MERGES" WHERE merge_status IN ('SUCCESS', 'FAILED') AND merge_date > SYSTIMESTAMP - NUMTODSINTERVAL(:days, 'DAY') AND table_name = :table_name;
--   days = 7
--   table_name = SALES_PART

-- StaleFailedMerges all
SELECT COUNT(*) FROM "DWH_ILM_PARTITION_MERGES" m WHERE m.merge_status = 'FAILED' AND m.merge_date < SYSTIMESTAMP - NUMTODSINTERVAL(:days, 'DAY') AND m.merge_id = (SELECT MAX(x.merge_id) FROM "DWH_ILM_PARTITION_MERGES" x WHERE x.table_owner = m.table_owner AND x.table_name = m.table_name AND x.source_partition = m.source_partition AND x.merge_status <> 'SKIPPED');
--   days = 7

-- StaleFailedMerges table
SELECT COUNT(*) FROM "CTL"."DWH_ILM_PARTITION_MERGES" m WHERE m.merge_status = 'FAILED' AND m.merge_date < SYSTIMESTAMP - NUMTODSINTERVAL(:days, 'DAY') AND m.table_name = :table_name AND m.merge_id = (SELECT MAX(x.merge_id) FROM "CTL"."DWH_ILM_PARTITION_MERGES" x WHERE x.table_owner = m.table_owner AND x.table_name = m.table_name AND x.source_partition = m.source_partition AND x.merge_status <> 'SKIPPED');
--   days = 7
--   table_name = SALES_PART

-- InsertExecutionLog
INSERT INTO "CTL"."DWH_ILM_EXECUTION_LOG" (table_owner, table_name, partition_name, action, source_tablespace, target_tablespace, status, error_message, duration_seconds, sql_text) VALUES (:table_owner, :table_name, :partition_name, :action, :source_tablespace, :target_tablespace, :status, :error_message, :duration_seconds, :sql_text);
--   table_owner = CMR
--   table_name = SALES_PART
--   partition_name = P_2023_11
--   action = MOVE
--   source_tablespace = TBS_HOT
--   target_tablespace = TBS_WARM
--   status = SUCCESS
--   error_message = NULL
--   duration_seconds = 1.25
--   sql_text = ALTER TABLE ...

-- ControlTableExists
SELECT COUNT(*) FROM all_tables WHERE owner = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND table_name = :table_name;
--   owner = CTL
--   table_name = DWH_ILM_CONFIG

-- ControlTableExists default schema
SELECT COUNT(*) FROM all_tables WHERE owner = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND table_name = :table_name;
--   owner = NULL
--   table_name = DWH_ILM_PARTITION_MERGES

