#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Start-PartitionBackfill: the parameter contract, input errors, and (with
# PARTITIONOPS_TEST_POSTGRES set to an Npgsql connection string) a real run in a schema of its own.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $command = Get-Command Start-PartitionBackfill -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.StartPartitionBackfillCommand'
}

Describe 'Start-PartitionBackfill' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set, which binds a piped connection by property name' {
            $command.DefaultParameterSet | Should -Be 'Connection'
            ($command.ParameterSets.Name | Sort-Object) -join ',' | Should -Be 'Connection,ConnectionString,SqlInstance'
            $command.Parameters['Connection'].ParameterSets['Connection'].ValueFromPipelineByPropertyName | Should -BeTrue
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Profile'; Type = [string] }
            @{ Name = 'Schema'; Type = [string] }
            @{ Name = 'ControlSchema'; Type = [string] }
            @{ Name = 'ResourceType'; Type = [string[]] }
            @{ Name = 'BatchSize'; Type = [Nullable[int]] }
            @{ Name = 'TargetBatchMilliseconds'; Type = [Nullable[int]] }
            @{ Name = 'DelayMilliseconds'; Type = [Nullable[int]] }
            @{ Name = 'Parallel'; Type = [Nullable[int]] }
            @{ Name = 'MaxDuration'; Type = [Nullable[timespan]] }
            @{ Name = 'SkipIndexes'; Type = [switch] }
            @{ Name = 'LockTimeoutMilliseconds'; Type = [Nullable[int]] }
            @{ Name = 'ThrottleQuery'; Type = [string] }
            @{ Name = 'MaxReplicaLagSeconds'; Type = [Nullable[double]] }
            @{ Name = 'MaxLogUsedPercent'; Type = [Nullable[double]] }
            @{ Name = 'MaxBlockedSessions'; Type = [Nullable[double]] }
            @{ Name = 'DisableThrottle'; Type = [string[]] }
            @{ Name = 'AllowOfflineIndexBuild'; Type = [switch] }
            @{ Name = 'MaxDop'; Type = [Nullable[int]] }
            @{ Name = 'DataCompression'; Type = [string] }
            @{ Name = 'IndexMaxDurationMinutes'; Type = [Nullable[int]] }
            @{ Name = 'EnableException'; Type = [switch] }
        ) {
            $command.Parameters[$Name].ParameterType | Should -Be $Type
        }

        It '-ResourceType binds by property name (alias TypeName), so a CSV of types pipes in' {
            $command.Parameters['ResourceType'].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Not -Contain $false
            $command.Parameters['ResourceType'].Aliases | Should -Contain 'TypeName'
        }

        It '-DataCompression accepts NONE, ROW and PAGE' {
            $set = $command.Parameters['DataCompression'].Attributes |
                Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            $set.ValidValues -join ',' | Should -Be 'NONE,ROW,PAGE'
        }

        It '-DisableThrottle accepts ReplicaLag, LogUsed and BlockedSessions' {
            $set = $command.Parameters['DisableThrottle'].Attributes |
                Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            $set.ValidValues -join ',' | Should -Be 'ReplicaLag,LogUsed,BlockedSessions'
        }

        It 'supports -WhatIf and -Confirm' {
            (Get-ShouldProcessContract $command).SupportsShouldProcess | Should -BeTrue
            $command.Parameters.ContainsKey('WhatIf') | Should -BeTrue
        }

        It 'declares BackfillResult as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.Engine.Backfill.BackfillResult'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a limit both set and switched off is an InvalidArgument error naming -DisableThrottle' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; MaxReplicaLagSeconds = 10; DisableThrottle = 'ReplicaLag' }
            $result = Start-PartitionBackfill @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $result | Should -BeNullOrEmpty
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -BeLike "-DisableThrottle 'ReplicaLag'*"
        }

        It 'a negative -BatchSize is an InvalidArgument error naming -BatchSize' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; BatchSize = -5 }
            $result = Start-PartitionBackfill @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $result | Should -BeNullOrEmpty
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-BatchSize*'
        }

        It 'throws with -EnableException' {
            { Start-PartitionBackfill -SqlInstance 127.0.0.1:1 -Provider postgresql -Parallel 0 -EnableException } |
                Should -Throw -ErrorId "InvalidRequest,$fqidSuffix"
        }

        It 'rejects an unknown -DataCompression at binding' {
            { Start-PartitionBackfill -SqlInstance sql01 -DataCompression ZIP } |
                Should -Throw -ErrorId "ParameterArgumentValidationError,$fqidSuffix"
        }

        It 'an unreachable server is a ConnectionError' {
            $unreachable = @{ ConnectionString = 'Host=127.0.0.1;Port=1;Username=po;Password=pw;Timeout=3'; Provider = 'postgresql' }
            $null = Start-PartitionBackfill @unreachable -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
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

        It '-WhatIf outputs nothing and changes nothing' {
            $result = $conn | Start-PartitionBackfill @scope -WhatIf
            $result | Should -BeNullOrEmpty
            $columnSql = "SELECT count(*) FROM information_schema.columns WHERE table_schema = '$schema' AND column_name = 'PartitionId'"
            Invoke-BackfillTestSql -ConnectionString $cs -Sql $columnSql | Should -Be 0
        }

        It 'runs the three phases and outputs a done result' {
            $verbose = $conn | Start-PartitionBackfill @scope -BatchSize 200 -Confirm:$false -Verbose -EnableException 4>&1
            $result = $verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
            $result.Status | Should -Be 'done'
            $result.ColumnAdded | Should -BeTrue
            $result.Types.Count | Should -Be 7
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
                Should -Match '\[column\]'
            (Test-BackfillIntegrity -Connection $conn @scope).Passed | Should -BeTrue
        }

        It 'a second run has nothing left to do' {
            $result = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
            $result.Status | Should -Be 'done'
            $result.ColumnAdded | Should -BeFalse
        }

        It 'an unknown -ResourceType is an InvalidArgument error naming -ResourceType' {
            $quiet = @{ ErrorVariable = 'err'; ErrorAction = 'SilentlyContinue' }
            $null = Start-PartitionBackfill -Connection $conn @scope -ResourceType Patient -Confirm:$false @quiet
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -BeLike '-ResourceType*'
        }

        It 'the result view shows the run at a glance' {
            $text = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false | Out-String
            $text | Should -Match 'Status'
            $text | Should -Match 'done'
        }
    }
}
