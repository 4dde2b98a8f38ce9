#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Test-BackfillPrerequisite: the parameter contract and (with PARTITIONOPS_TEST_POSTGRES)
# the report before and after the partition column exists.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $command = Get-Command Test-BackfillPrerequisite -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.TestBackfillPrerequisiteCommand'
}

Describe 'Test-BackfillPrerequisite' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set' {
            $command.DefaultParameterSet | Should -Be 'Connection'
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Profile'; Type = [string] }
            @{ Name = 'ResourceType'; Type = [string[]] }
            @{ Name = 'BatchSize'; Type = [Nullable[int]] }
            @{ Name = 'AllowOfflineIndexBuild'; Type = [switch] }
        ) {
            $command.Parameters[$Name].ParameterType | Should -Be $Type
        }

        It 'declares PrerequisiteReport as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.PrerequisiteReport'
        }
    }

    Context 'Input errors (no database needed)' {
        It '-BatchSize 0 is an InvalidArgument error naming -BatchSize' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; BatchSize = 0 }
            $null = Test-BackfillPrerequisite @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-BatchSize*'
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

        It 'reports the checks; no estimate before the column exists' {
            $report = $conn | Test-BackfillPrerequisite @scope -EnableException
            $report.Table | Should -Be "$schema.Resource"
            $report.Checks.Count | Should -BeGreaterThan 3
            $report.Passed | Should -Be (-not ($report.Checks | Where-Object { -not $_.Passed }))
            $report.EstimatedDuration | Should -BeNullOrEmpty
        }

        It 'samples one batch once the column exists, and leaves no trace' {
            $null = Start-PartitionBackfill -Connection $conn @scope -SkipIndexes -Confirm:$false -EnableException
            $null = Undo-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $systemRowsSql = "SELECT count(*) FROM `"$schema`".`"Resource`" WHERE `"PartitionId`" = 1"
            $before = Invoke-BackfillTestSql -ConnectionString $cs -Sql $systemRowsSql
            $report = Test-BackfillPrerequisite -Connection $conn @scope -BatchSize 100 -EnableException
            $report.SampleRowsPerSecond | Should -BeGreaterThan 0
            Invoke-BackfillTestSql -ConnectionString $cs -Sql $systemRowsSql |
                Should -Be $before
        }

        It 'the list view shows one line per check' {
            (Test-BackfillPrerequisite -Connection $conn @scope | Out-String) | Should -Match '\[ok\]'
        }
    }
}
