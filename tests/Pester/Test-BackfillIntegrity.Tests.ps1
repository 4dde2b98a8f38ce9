#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Test-BackfillIntegrity: the parameter contract and (with PARTITIONOPS_TEST_POSTGRES)
# Passed and the counts before a backfill, after it, and with a misplaced row.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $command = Get-Command Test-BackfillIntegrity -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.TestBackfillIntegrityCommand'
}

Describe 'Test-BackfillIntegrity' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set' {
            $command.DefaultParameterSet | Should -Be 'Connection'
        }

        It 'takes the table parameters and -ResourceType by property name' {
            foreach ($name in 'Profile', 'Schema', 'ControlSchema') { $command.Parameters[$name].ParameterType | Should -Be ([string]) }
            $command.Parameters['ResourceType'].ParameterType | Should -Be ([string[]])
            $command.Parameters['ResourceType'].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Not -Contain $false
        }

        It 'only reads: no -WhatIf' {
            $command.Parameters.ContainsKey('WhatIf') | Should -BeFalse
        }

        It 'declares IntegrityReport as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.IntegrityReport'
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-BackfillTestSchema -ConnectionString $cs
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $scope = @{ Schema = $schema; ControlSchema = "${schema}_ctl" }
        }
        AfterAll {
            if ($schema) { Remove-BackfillTestSchema -ConnectionString $cs -Schema $schema }
        }

        It 'before the column exists: an InvalidArgument error' {
            $null = Test-BackfillIntegrity -Connection $conn @scope -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
        }

        It 'after a backfill: Passed with zero counts, through a piped connection' {
            $null = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $report = $conn | Test-BackfillIntegrity @scope -EnableException
            $report.Passed | Should -BeTrue
            $report.MisplacedSystemRows | Should -Be 0
            $report.MisplacedUserRows | Should -Be 0
            $report.Table | Should -Be "$schema.Resource"
            $report.Types.Count | Should -Be 7
        }

        It 'a user row with the system value fails the check and is counted' {
            $null = Invoke-BackfillTestSql -ConnectionString $cs -Sql @"
UPDATE "$schema"."Resource" SET "PartitionId" = 1
WHERE ("ResourceTypeId", "ResourceSurrogateId") IN (
    SELECT r."ResourceTypeId", r."ResourceSurrogateId" FROM "$schema"."Resource" r
    JOIN "$schema"."ResourceType" t ON t."ResourceTypeId" = r."ResourceTypeId"
    WHERE t."Name" = 'Patient' LIMIT 3)
"@
            $report = Test-BackfillIntegrity -Connection $conn @scope -EnableException
            $report.Passed | Should -BeFalse
            $report.MisplacedUserRows | Should -Be 3
            ($report.Types | Where-Object { -not $_.IsSystemType }).TypeName | Should -Be 'Patient'
            ($report | Out-String) | Should -Match 'False'
        }

        It '-ResourceType checks only those system types' {
            $report = Test-BackfillIntegrity -Connection $conn @scope -ResourceType ValueSet -EnableException
            $report.Types.TypeName | Should -Be 'ValueSet'
            $report.Passed | Should -BeTrue
        }
    }
}
