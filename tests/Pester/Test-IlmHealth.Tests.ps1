#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Test-IlmHealth: the parameter contract (every threshold a parameter), input errors, and (with
# PARTITIONOPS_TEST_POSTGRES) Passed and the numbers behind it.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Test-IlmHealth -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.TestIlmHealthCommand'
}

Describe 'Test-IlmHealth' {
    Context 'Parameter contract' {
        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Table'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Schema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'ControlSchema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Policy'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'WindowDays'; Type = [Nullable[int]]; ByPropertyName = $false }
            @{ Name = 'MaxFailureRatePercent'; Type = [Nullable[decimal]]; ByPropertyName = $false }
            @{ Name = 'MaxMergeSeconds'; Type = [Nullable[decimal]]; ByPropertyName = $false }
            @{ Name = 'MaxWarmMonthlyPartitions'; Type = [Nullable[int]]; ByPropertyName = $false }
            @{ Name = 'FailedNotRetriedDays'; Type = [Nullable[int]]; ByPropertyName = $false }
            @{ Name = 'MaxWarmMonthlyPercent'; Type = [Nullable[decimal]]; ByPropertyName = $false }
            @{ Name = 'MinSuccessRatePercent'; Type = [Nullable[decimal]]; ByPropertyName = $false }
            @{ Name = 'MaxAverageMergeSeconds'; Type = [Nullable[decimal]]; ByPropertyName = $false }
            @{ Name = 'VerifyIndexes'; Type = [switch]; ByPropertyName = $false }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It 'reads only: no -WhatIf' {
            $command.Parameters.ContainsKey('WhatIf') | Should -BeFalse
        }

        It 'declares IlmHealthReport as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Ilm.Monitoring.IlmHealthReport'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a -WindowDays of 0 is an InvalidArgument error naming -WindowDays' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; WindowDays = 0 }
            $null = Test-IlmHealth @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-WindowDays*'
        }

        It '-VerifyIndexes without -Table is an InvalidArgument error naming -VerifyIndexes' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; VerifyIndexes = $true }
            $null = Test-IlmHealth @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-VerifyIndexes*'
        }

        It 'a percentage above 100 throws with -EnableException' {
            { Test-IlmHealth -SqlInstance 127.0.0.1:1 -Provider postgresql -MinSuccessRatePercent 120 -EnableException } |
                Should -Throw -ErrorId "InvalidRequest,$fqidSuffix"
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeAll {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-IlmTestTable -ConnectionString $cs
            $policy = New-IlmTestPolicy -Directory $TestDrive
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $scope = @{ Schema = $schema; ControlSchema = "${schema}_ctl"; Policy = $policy }
        }
        AfterAll {
            if ($schema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $schema }
        }

        It 'passes with no merge history (no data is no fault)' {
            $report = Test-IlmHealth -Connection $conn -Table sales @scope -EnableException
            $report.Passed | Should -BeTrue
            $report.Statistics.TotalMerges | Should -Be 0
            @($report.Checks).Count | Should -BeGreaterThan 0
        }

        It 'passes after a successful merge, with the numbers behind it' {
            $null = Invoke-IlmMaintenance -Connection $conn -Table sales @scope -AsOf $IlmAsOf -Confirm:$false -EnableException
            $report = Test-IlmHealth -Connection $conn -Table sales @scope -EnableException
            $report.Statistics.Succeeded | Should -Be 1
            $report.Statistics.SuccessRatePercent | Should -Be 100
            $report.FailedNotRetried | Should -Be 0
            $report.Passed | Should -BeTrue -Because (($report.Checks | Where-Object { -not $_.Passed }).Message -join '; ')
        }

        It 'a threshold given as a parameter can fail it' {
            $report = Test-IlmHealth -Connection $conn -Table sales @scope -MaxAverageMergeSeconds 0
            $report.Passed | Should -BeFalse
            ($report.MissedCriteria).Name | Should -Contain 'average merge time'
        }
    }
}
