#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Stop-PartitionBackfill: the parameter contract and (with PARTITIONOPS_TEST_POSTGRES)
# that the flag pauses the next run's workers and that Start-PartitionBackfill clears it.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $command = Get-Command Stop-PartitionBackfill -Module PartitionOps
}

Describe 'Stop-PartitionBackfill' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set' {
            $command.DefaultParameterSet | Should -Be 'Connection'
        }

        It 'works on the whole table: no -ResourceType' {
            $command.Parameters.ContainsKey('ResourceType') | Should -BeFalse
            $command.Parameters['PassThru'].ParameterType | Should -Be ([switch])
        }

        It 'supports -WhatIf and -Confirm' {
            (Get-ShouldProcessContract $command).SupportsShouldProcess | Should -BeTrue
        }

        It 'declares BackfillProgressReport as its output type (with -PassThru)' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.BackfillProgressReport'
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

        It '-WhatIf sets no flag (no control tables are created)' {
            $conn | Stop-PartitionBackfill @scope -WhatIf
            $tablesSql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = '${schema}_ctl'"
            Invoke-BackfillTestSql -ConnectionString $cs -Sql $tablesSql |
                Should -Be 0
        }

        It 'sets the flag; -PassThru outputs the run report' {
            $report = $conn | Stop-PartitionBackfill @scope -PassThru -Confirm:$false -EnableException
            $report.Table | Should -Be "$schema.Resource"
            $stopSql = "SELECT count(*) FROM `"${schema}_ctl`".backfill_control WHERE stop_requested"
            Invoke-BackfillTestSql -ConnectionString $cs -Sql $stopSql |
                Should -Be 1
        }

        It 'says on the host which table it flagged (information stream, like Write-Host), with no output object' {
            $out = $conn | Stop-PartitionBackfill @scope -Confirm:$false -EnableException -InformationVariable info 6>$null
            $out | Should -BeNullOrEmpty
            "$($info.MessageData)" | Should -BeLike "$schema.Resource.PartitionId: stop requested (flag in ${schema}_ctl.backfill_control)*"
            $info.Tags | Should -Contain 'PSHOST'
        }

        It 'the next start clears the flag and runs to the end' {
            $result = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $result.Status | Should -Be 'done'
            $stopSql = "SELECT count(*) FROM `"${schema}_ctl`".backfill_control WHERE stop_requested"
            Invoke-BackfillTestSql -ConnectionString $cs -Sql $stopSql |
                Should -Be 0
        }
    }
}
