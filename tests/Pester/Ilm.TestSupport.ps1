# Shared by the ILM Pester tests (dot-sourced after Backfill.TestSupport.ps1; not a test file itself).
# Live tests run against PARTITIONOPS_TEST_POSTGRES (an Npgsql connection string) in a schema of their own:
# a table sales partitioned by month of sale_date, with a partial yearly p_2023 and the months after it. The
# policy puts every tier in pg_default (no CREATE TABLESPACE needed), so only merges are planned:
# as of 2025-12-01 p_2023_11 is WARM and merges into p_2023; p_2023_12 and later stay HOT.

$script:IlmAsOf = '2025-12-01'

function New-IlmTestTable {
    <# Creates <schema>.sales with p_2023 [2023-01-01, 2023-11-01), p_2023_11, p_2023_12, p_2024_01, 10 rows a day; returns the schema. #>
    param([Parameter(Mandatory)] [string] $ConnectionString)
    $schema = 'po_pester_ilm_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $sql = @"
CREATE SCHEMA "$schema";
CREATE TABLE "$schema".sales (id bigint GENERATED ALWAYS AS IDENTITY, sale_date date NOT NULL, amount numeric(12,2))
    PARTITION BY RANGE (sale_date);
CREATE TABLE "$schema".p_2023 PARTITION OF "$schema".sales FOR VALUES FROM ('2023-01-01') TO ('2023-11-01');
CREATE TABLE "$schema".p_2023_11 PARTITION OF "$schema".sales FOR VALUES FROM ('2023-11-01') TO ('2023-12-01');
CREATE TABLE "$schema".p_2023_12 PARTITION OF "$schema".sales FOR VALUES FROM ('2023-12-01') TO ('2024-01-01');
CREATE TABLE "$schema".p_2024_01 PARTITION OF "$schema".sales FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
INSERT INTO "$schema".sales (sale_date, amount)
    SELECT d::date, 1 FROM generate_series('2023-01-01'::date, '2024-01-31'::date, interval '1 day') d, generate_series(1, 10);
ANALYZE "$schema".sales;
SELECT 1;
"@
    $null = Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql $sql
    $schema
}

function New-IlmTestPolicy {
    <# A policy file with the spec's ages and every tier in pg_default; returns its path. #>
    param([Parameter(Mandatory)] [string] $Directory)
    $path = Join-Path $Directory 'ilm-policy.json'
    @'
{ "tier_config": { "enabled": true, "auto_merge": true,
  "hot":  { "interval": "MONTHLY", "tablespace": "pg_default", "compression": "NONE",  "age_months": 24 },
  "warm": { "interval": "YEARLY",  "tablespace": "pg_default", "compression": "BASIC", "age_months": 60, "merge_monthly": true },
  "cold": { "interval": "YEARLY",  "tablespace": "pg_default", "compression": "BASIC", "merge_monthly": true } } }
'@ | Set-Content -Path $path -Encoding utf8
    $path
}

function Remove-IlmTestSchema {
    param([Parameter(Mandatory)] [string] $ConnectionString, [Parameter(Mandatory)] [string] $Schema)
    $drop = "DROP SCHEMA IF EXISTS `"$Schema`" CASCADE; DROP SCHEMA IF EXISTS `"${Schema}_ctl`" CASCADE"
    $null = Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql $drop
}

function Get-IlmTestPartition {
    <# Partition names of <schema>.sales, in bound order. #>
    param([Parameter(Mandatory)] [string] $ConnectionString, [Parameter(Mandatory)] [string] $Schema)
    Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql @"
SELECT string_agg(c.relname, ',' ORDER BY pg_get_expr(c.relpartbound, c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = '"$Schema".sales'::regclass
"@
}

function Assert-IlmParameter {
    <# The parameter exists with the type, and binds by property name when asked. #>
    param($Command, [string] $Name, [type] $Type, [switch] $ByPropertyName)
    $Command.Parameters.ContainsKey($Name) | Should -BeTrue -Because "-$Name"
    $Command.Parameters[$Name].ParameterType | Should -Be $Type
    if ($ByPropertyName) {
        $Command.Parameters[$Name].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Not -Contain $false
    }
}
