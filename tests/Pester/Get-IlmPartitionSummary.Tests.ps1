#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Get-IlmPartitionSummary: the parameter contract, input errors, and (with
# PARTITIONOPS_TEST_POSTGRES) the partition counts before and after a merge.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Get-IlmPartitionSummary -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.GetIlmPartitionSummaryCommand'
}

Describe 'Get-IlmPartitionSummary' {
    Context 'Parameter contract' {
        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Table'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Schema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'ControlSchema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Policy'; Type = [string]; ByPropertyName = $true }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It 'declares IlmPartitionSummaryRow as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.PowerShell.Ilm.IlmPartitionSummaryRow'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a missing -Policy file is an InvalidArgument error naming -Policy' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Table = 'sales'; Policy = (Join-Path $TestDrive 'none.json') }
            $null = Get-IlmPartitionSummary @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-Policy*'
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-IlmTestTable -ConnectionString $cs
            $policy = New-IlmTestPolicy -Directory $TestDrive
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
        }
        AfterAll {
            if ($schema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $schema }
        }

        It 'counts one yearly and three monthly partitions, then one monthly fewer after the merge' {
            $before = Get-IlmPartitionSummary -Connection $conn -Table sales -Schema $schema -Policy $policy -EnableException
            ($before | Measure-Object Yearly -Sum).Sum | Should -Be 1
            ($before | Measure-Object Monthly -Sum).Sum | Should -Be 3
            $run = @{ Connection = $conn; Table = 'sales'; Schema = $schema; ControlSchema = "${schema}_ctl"; Policy = $policy
                      AsOf = $IlmAsOf }
            $null = Invoke-IlmMaintenance @run -Confirm:$false -EnableException
            $after = Get-IlmPartitionSummary -Connection $conn -Table sales -Schema $schema -Policy $policy -EnableException
            ($after | Measure-Object Monthly -Sum).Sum | Should -Be 2
        }
    }
}
