#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Invoke-IlmMaintenance: the parameter contract, input errors, and (with PARTITIONOPS_TEST_POSTGRES)
# a time-boxed run of a real partitioned table.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Invoke-IlmMaintenance -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.InvokeIlmMaintenanceCommand'
}

Describe 'Invoke-IlmMaintenance' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set' {
            $command.DefaultParameterSet | Should -Be 'Connection'
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Table'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Schema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'ControlSchema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Policy'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'AsOf'; Type = [object]; ByPropertyName = $true }
            @{ Name = 'MaxMerges'; Type = [Nullable[int]]; ByPropertyName = $false }
            @{ Name = 'LockTimeoutSeconds'; Type = [Nullable[int]]; ByPropertyName = $false }
            @{ Name = 'MaxDuration'; Type = [Nullable[timespan]]; ByPropertyName = $false }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It 'supports -WhatIf and -Confirm' {
            (Get-ShouldProcessContract $command).SupportsShouldProcess | Should -BeTrue
        }

        It 'declares IlmActionResult as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.PowerShell.Ilm.IlmActionResult'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a negative -MaxMerges is an InvalidArgument error naming -MaxMerges' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Table = 'sales'; MaxMerges = -1 }
            $null = Invoke-IlmMaintenance @bad -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-MaxMerges*'
        }

        It 'a zero -LockTimeoutSeconds throws with -EnableException' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Table = 'sales'; LockTimeoutSeconds = 0 }
            { Invoke-IlmMaintenance @bad -Confirm:$false -EnableException } |
                Should -Throw -ErrorId "InvalidRequest,$fqidSuffix"
        }

        It 'an unreachable server is a ConnectionError' {
            $unreachable = @{ ConnectionString = 'Host=127.0.0.1;Port=1;Username=po;Password=pw;Timeout=3'; Provider = 'postgresql'
                              Table = 'sales' }
            $null = Invoke-IlmMaintenance @unreachable -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-IlmTestTable -ConnectionString $cs
            $policy = New-IlmTestPolicy -Directory $TestDrive
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $scope = @{ Schema = $schema; ControlSchema = "${schema}_ctl"; Policy = $policy; AsOf = $IlmAsOf }
        }
        AfterAll {
            if ($schema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $schema }
        }

        It '-WhatIf outputs nothing and changes nothing' {
            Invoke-IlmMaintenance -Connection $conn -Table sales @scope -WhatIf | Should -BeNullOrEmpty
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_11,p_2023_12,p_2024_01'
        }

        It '-MaxDuration 0 starts nothing' {
            $quiet = @{ WarningVariable = 'warn'; WarningAction = 'SilentlyContinue' }
            $null = Invoke-IlmMaintenance -Connection $conn -Table sales @scope -MaxDuration 0 -Confirm:$false @quiet
            $warn | Should -Not -BeNullOrEmpty
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_11,p_2023_12,p_2024_01'
        }

        It 'merges the due month, then a second run has nothing to do' {
            $results = @(Invoke-IlmMaintenance -Connection $conn -Table sales @scope -Confirm:$false -EnableException)
            $results.Action | Should -Be 'Merge'
            $results.Status | Should -Be 'SUCCESS'
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_12,p_2024_01'
            @(Invoke-IlmMaintenance -Connection $conn -Table sales @scope -Confirm:$false -EnableException) | Should -BeNullOrEmpty
        }
    }
}
