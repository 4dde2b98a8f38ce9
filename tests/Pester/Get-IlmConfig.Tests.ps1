#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Get-IlmConfig: the parameter contract and (with PARTITIONOPS_TEST_POSTGRES) the spec's defaults,
# read without creating anything.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Get-IlmConfig -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.GetIlmConfigCommand'
}

Describe 'Get-IlmConfig' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set and takes -ControlSchema' {
            $command.DefaultParameterSet | Should -Be 'Connection'
            Assert-IlmParameter $command 'ControlSchema' ([string]) -ByPropertyName
        }

        It 'declares IlmConfigEntry as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Ilm.IlmConfigEntry'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'an invalid -ControlSchema is an InvalidArgument error naming it' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; ControlSchema = 'a b' }
            $null = Get-IlmConfig @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-ControlSchema*'
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $control = 'po_pester_cfg_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
        }
        AfterAll {
            $null = Invoke-BackfillTestSql -ConnectionString $cs -Sql "DROP SCHEMA IF EXISTS `"$control`" CASCADE"
        }

        It 'lists the spec''s four keys with their defaults, marked IsDefault, and creates nothing' {
            $config = Get-IlmConfig -Connection $conn -ControlSchema $control -EnableException
            $values = @{}; $config | ForEach-Object { $values[$_.Key] = $_.Value }
            $values['AUTO_MERGE_PARTITIONS'] | Should -Be 'Y'
            $values['MERGE_LOCK_TIMEOUT'] | Should -Be '30'
            $values['MERGE_RETRY_FAILED'] | Should -Be 'Y'
            $values['MAX_MERGES_PER_RUN'] | Should -Be '50'
            ($config | Where-Object Key -eq 'MERGE_LOCK_TIMEOUT').Description | Should -Match 'seconds'
            $config.IsDefault | Should -Not -Contain $false
            Invoke-BackfillTestSql -ConnectionString $cs -Sql "SELECT count(*) FROM pg_namespace WHERE nspname = '$control'" | Should -Be 0
        }

        It 'reads a value from the table once it is set' {
            Set-IlmConfig -Connection $conn -ControlSchema $control -Key MAX_MERGES_PER_RUN -Value 9 -Confirm:$false -EnableException
            $row = Get-IlmConfig -Connection $conn -ControlSchema $control -EnableException | Where-Object Key -eq 'MAX_MERGES_PER_RUN'
            ($row.Value, $row.IsDefault) | Should -Be @('9', $false)
        }
    }
}
