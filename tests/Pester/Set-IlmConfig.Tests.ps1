#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Set-IlmConfig: the parameter contract (known keys only), value checks before anything is written,
# -WhatIf, and (with PARTITIONOPS_TEST_POSTGRES) a change read back.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Set-IlmConfig -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.SetIlmConfigCommand'
}

Describe 'Set-IlmConfig' {
    Context 'Parameter contract' {
        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Key'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Value'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Description'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'ControlSchema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'PassThru'; Type = [switch]; ByPropertyName = $false }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It '-Key accepts the spec''s four keys' {
            $set = $command.Parameters['Key'].Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            $set.ValidValues -join ',' | Should -Be 'AUTO_MERGE_PARTITIONS,MERGE_LOCK_TIMEOUT,MERGE_RETRY_FAILED,MAX_MERGES_PER_RUN'
        }

        It 'supports -WhatIf and -Confirm' {
            (Get-ShouldProcessContract $command).SupportsShouldProcess | Should -BeTrue
        }
    }

    Context 'Input errors (no database needed)' {
        It 'an unknown key is refused at binding' {
            { Set-IlmConfig -SqlInstance pg01 -Provider postgresql -Key MAX_MERGES -Value 1 } |
                Should -Throw -ErrorId "ParameterArgumentValidationError,$fqidSuffix"
        }

        It 'a bad value is an InvalidArgument error naming -Value and the key, before connecting' -ForEach @(
            @{ Key = 'AUTO_MERGE_PARTITIONS'; Value = 'maybe' }
            @{ Key = 'MERGE_RETRY_FAILED'; Value = 'sometimes' }
            @{ Key = 'MERGE_LOCK_TIMEOUT'; Value = '0' }
            @{ Key = 'MAX_MERGES_PER_RUN'; Value = '-1' }
        ) {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Key = $Key; Value = $Value }
            $null = Set-IlmConfig @bad -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike "-Value*$Key*"
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

        It '-WhatIf writes nothing' {
            Set-IlmConfig -Connection $conn -ControlSchema $control -Key MAX_MERGES_PER_RUN -Value 7 -WhatIf
            $tablesSql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$control'"
            Invoke-BackfillTestSql -ConnectionString $cs -Sql $tablesSql | Should -Be 0
        }

        It 'writes the value; -PassThru outputs the row; Get-IlmConfig reads it back' {
            $set = @{ Connection = $conn; ControlSchema = $control; Key = 'max_merges_per_run'; Value = ' 7 ' }
            $row = Set-IlmConfig @set -PassThru -Confirm:$false -EnableException
            ($row.Key, $row.Value) | Should -Be @('MAX_MERGES_PER_RUN', '7')
            (Get-IlmConfig -Connection $conn -ControlSchema $control | Where-Object Key -eq 'MAX_MERGES_PER_RUN').Value | Should -Be '7'
        }

        It 'stores a Y/N switch given as YES, TRUE, 1, NO, FALSE or 0 as Y or N' {
            Set-IlmConfig -Connection $conn -ControlSchema $control -Key MERGE_RETRY_FAILED -Value false -Confirm:$false -EnableException
            (Get-IlmConfig -Connection $conn -ControlSchema $control | Where-Object Key -eq 'MERGE_RETRY_FAILED').Value | Should -Be 'N'
            $set = @{ Connection = $conn; ControlSchema = $control; Key = 'MERGE_RETRY_FAILED'; Value = 'YES' }
            $row = Set-IlmConfig @set -PassThru -Confirm:$false -EnableException
            $row.Value | Should -Be 'Y'
        }

        It 'Get-IlmConfig output pipes back in by property name' {
            Get-IlmConfig -Connection $conn -ControlSchema $control | Where-Object Key -eq 'AUTO_MERGE_PARTITIONS' |
                ForEach-Object { $_ | Set-IlmConfig -Connection $conn -ControlSchema $control -Value N -Confirm:$false -EnableException }
            (Get-IlmConfig -Connection $conn -ControlSchema $control | Where-Object Key -eq 'AUTO_MERGE_PARTITIONS').Value | Should -Be 'N'
        }
    }
}
