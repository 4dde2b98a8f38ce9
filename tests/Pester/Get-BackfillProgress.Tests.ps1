#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Get-BackfillProgress: the parameter contract, the view, and (with
# PARTITIONOPS_TEST_POSTGRES) the objects before and after a run.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $command = Get-Command Get-BackfillProgress -Module PartitionOps
}

Describe 'Get-BackfillProgress' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set, which binds a piped connection by property name' {
            $command.DefaultParameterSet | Should -Be 'Connection'
            $command.Parameters['Connection'].ParameterSets['Connection'].ValueFromPipelineByPropertyName | Should -BeTrue
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Profile'; Type = [string] }
            @{ Name = 'Schema'; Type = [string] }
            @{ Name = 'ControlSchema'; Type = [string] }
            @{ Name = 'ResourceType'; Type = [string[]] }
            @{ Name = 'Exact'; Type = [switch] }
            @{ Name = 'AsReport'; Type = [switch] }
        ) {
            $command.Parameters[$Name].ParameterType | Should -Be $Type
        }

        It 'only reads: no -WhatIf' {
            $command.Parameters.ContainsKey('WhatIf') | Should -BeFalse
        }

        It 'declares TypeProgress and BackfillProgressReport as output types' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.TypeProgress'
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.BackfillProgressReport'
        }
    }

    Context 'Progress bar text' {
        It 'renders <Percent> as <Bar>' -ForEach @(
            @{ Percent = 52.3; Bar = '[#####-----] 52.3%' }
            @{ Percent = 100; Bar = '[##########] 100.0%' }
            @{ Percent = $null; Bar = '' }
        ) {
            [PartitionOps.PowerShell.Backfill.BackfillProgressText]::Bar($Percent) | Should -Be $Bar
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

        It 'before any run: every system type is pending, and -AsReport says none' {
            $types = $conn | Get-BackfillProgress @scope -EnableException
            $types.Count | Should -Be 7
            $types.Status | Sort-Object -Unique | Should -Be 'pending'
            ($conn | Get-BackfillProgress @scope -AsReport -EnableException).Status | Should -Be 'none'
        }

        It 'after a run: one done TypeProgress per system type, piped connection' {
            $null = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $types = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql | Get-BackfillProgress @scope -EnableException
            $types.Count | Should -Be 7
            $types.Status | Sort-Object -Unique | Should -Be 'done'
            $types[0].PSObject.TypeNames | Should -Contain 'PartitionOps.Engine.Backfill.TypeProgress'
        }

        It 'the default view shows a full bar per type' {
            $text = Get-BackfillProgress -Connection $conn @scope | Out-String
            $text | Should -Match ([regex]::Escape('[##########] 100.0%'))
            $text | Should -Match 'ValueSet'
        }

        It '-ResourceType narrows the output, and -Exact counts the remaining rows' {
            $types = Get-BackfillProgress -Connection $conn @scope -ResourceType ValueSet -Exact -EnableException
            $types.TypeName | Should -Be 'ValueSet'
            $types.ExactRemainingRows | Should -Be 0
        }

        It 'its output pipes back in by TypeName' {
            $result = Get-BackfillProgress -Connection $conn @scope -ResourceType CodeSystem |
                Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $result.Types.TypeName | Should -Be 'CodeSystem'
        }
    }
}
