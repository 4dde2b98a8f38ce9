#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Undo-PartitionBackfill: the parameter contract (ConfirmImpact High), input errors, and
# (with PARTITIONOPS_TEST_POSTGRES) an undo of the types of a CSV file after a backfill.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $command = Get-Command Undo-PartitionBackfill -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.UndoPartitionBackfillCommand'
}

Describe 'Undo-PartitionBackfill' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set' {
            $command.DefaultParameterSet | Should -Be 'Connection'
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'ResourceType'; Type = [string[]] }
            @{ Name = 'BatchSize'; Type = [Nullable[int]] }
            @{ Name = 'Parallel'; Type = [Nullable[int]] }
            @{ Name = 'MaxDuration'; Type = [Nullable[timespan]] }
            @{ Name = 'DelayMilliseconds'; Type = [Nullable[int]] }
            @{ Name = 'ThrottleQuery'; Type = [string] }
            @{ Name = 'MaxBlockedSessions'; Type = [Nullable[double]] }
            @{ Name = 'DisableThrottle'; Type = [string[]] }
        ) {
            $command.Parameters[$Name].ParameterType | Should -Be $Type
        }

        It 'has no index build parameters (an undo never touches the indexes)' {
            foreach ($name in 'SkipIndexes', 'MaxDop', 'DataCompression', 'IndexMaxDurationMinutes', 'AllowOfflineIndexBuild') {
                $command.Parameters.ContainsKey($name) | Should -BeFalse -Because $name
            }
        }

        It 'asks before running: ShouldProcess with ConfirmImpact High' {
            $contract = Get-ShouldProcessContract $command
            $contract.SupportsShouldProcess | Should -BeTrue
            $contract.ConfirmImpact | Should -Be 'High'
        }

        It '-ResourceType binds by property name' {
            $command.Parameters['ResourceType'].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Not -Contain $false
        }

        It 'declares BackfillResult as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.BackfillResult'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a negative -DelayMilliseconds is an InvalidArgument error naming it' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; DelayMilliseconds = -1 }
            $null = Undo-PartitionBackfill @bad -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-DelayMilliseconds*'
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-BackfillTestSchema -ConnectionString $cs
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $scope = @{ Schema = $schema; ControlSchema = "${schema}_ctl" }
            $null = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $csv = Join-Path ([System.IO.Path]::GetTempPath()) "po-types-$([guid]::NewGuid().ToString('N')).csv"
            [pscustomobject]@{ ResourceType = 'ValueSet' }, [pscustomobject]@{ ResourceType = 'CodeSystem' } |
                Export-Csv -Path $csv -NoTypeInformation
        }
        AfterAll {
            if ($schema) { Remove-BackfillTestSchema -ConnectionString $cs -Schema $schema }
            if ($csv) { Remove-Item $csv -ErrorAction SilentlyContinue }
        }

        It 'Import-Csv types.csv | Undo-PartitionBackfill -WhatIf changes nothing' {
            $result = Import-Csv $csv | Undo-PartitionBackfill -Connection $conn @scope -WhatIf
            $result | Should -BeNullOrEmpty
            (Test-BackfillIntegrity -Connection $conn @scope).Passed | Should -BeTrue
        }

        It 'undoes the types of the CSV in one run, and only those' {
            $result = Import-Csv $csv | Undo-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            @($result).Count | Should -Be 1
            $result.Status | Should -Be 'done'
            ($result.Types.TypeName | Sort-Object) -join ',' | Should -Be 'CodeSystem,ValueSet'
            $report = Test-BackfillIntegrity -Connection $conn @scope
            $report.Passed | Should -BeFalse
            ($report.Types | Where-Object MisplacedRows -gt 0).TypeName | Sort-Object | Should -Be @('CodeSystem', 'ValueSet')
        }

        It 'a backfill of the same types puts them back' {
            $null = Import-Csv $csv | Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            (Test-BackfillIntegrity -Connection $conn @scope).Passed | Should -BeTrue
        }
    }
}
