#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Get-IlmMergeHistory: the parameter contract, input errors, and (with PARTITIONOPS_TEST_POSTGRES)
# the audit rows of a merge.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Get-IlmMergeHistory -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.GetIlmMergeHistoryCommand'
}

Describe 'Get-IlmMergeHistory' {
    Context 'Parameter contract' {
        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Table'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Schema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'ControlSchema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'MaxRows'; Type = [Nullable[int]]; ByPropertyName = $false }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It '-Table is optional (every table without it)' {
            $command.Parameters['Table'].Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory |
                Should -Not -Contain $true
        }

        It 'declares MergeAuditRecord as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Ilm.Execution.MergeAuditRecord'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a -MaxRows of 0 is an InvalidArgument error naming -MaxRows' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; MaxRows = 0 }
            $null = Get-IlmMergeHistory @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-MaxRows*'
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-IlmTestTable -ConnectionString $cs
            $policy = New-IlmTestPolicy -Directory $TestDrive
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $control = @{ Schema = $schema; ControlSchema = "${schema}_ctl" }
        }
        AfterAll {
            if ($schema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $schema }
        }

        It 'is empty before any merge, and creates no control table' {
            Get-IlmMergeHistory -Connection $conn -Table sales @control -EnableException | Should -BeNullOrEmpty
            Invoke-BackfillTestSql -ConnectionString $cs -Sql "SELECT count(*) FROM pg_namespace WHERE nspname = '${schema}_ctl'" |
                Should -Be 0
        }

        It 'shows the merge as SUCCESS with its rows; pipes from its own rows by TableName' {
            $run = @{ Connection = $conn; Table = 'sales'; Policy = $policy; AsOf = $IlmAsOf }
            $null = Invoke-IlmMaintenance @run @control -Confirm:$false -EnableException
            $row = Get-IlmMergeHistory -Connection $conn -Table sales @control -EnableException
            ($row.SourcePartition, $row.TargetPartition, $row.MergeStatus) | Should -Be @('p_2023_11', 'p_2023', 'SUCCESS')
            $row.RowsMerged | Should -Be 300
            @(Get-IlmMergeHistory -Connection $conn -ControlSchema "${schema}_ctl" -MaxRows 1).Count | Should -Be 1
        }
    }
}
