#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Invoke-IlmPartitionMerge: the parameter contract (candidates bind by property name, ConfirmImpact
# High, no -Force), input errors, and (with PARTITIONOPS_TEST_POSTGRES) piped and named merges of a real partitioned
# table that run only what was chosen.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Invoke-IlmPartitionMerge -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.InvokeIlmPartitionMergeCommand'
}

Describe 'Invoke-IlmPartitionMerge' {
    Context 'Parameter contract' {
        It 'defaults to the Connection set' {
            $command.DefaultParameterSet | Should -Be 'Connection'
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'Table'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Partition'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Schema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'ControlSchema'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'Policy'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'AsOf'; Type = [object]; ByPropertyName = $true }
            @{ Name = 'Action'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'SourcePartition'; Type = [string[]]; ByPropertyName = $true }
            @{ Name = 'TargetPartition'; Type = [string]; ByPropertyName = $true }
            @{ Name = 'LockTimeoutSeconds'; Type = [Nullable[int]]; ByPropertyName = $false }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It 'has no -Force: the engine runs only the chosen actions' {
            $command.Parameters.ContainsKey('Force') | Should -BeFalse
        }

        It 'asks before running (ConfirmImpact High) and supports -WhatIf' {
            $contract = Get-ShouldProcessContract $command
            $contract.SupportsShouldProcess | Should -BeTrue
            $contract.ConfirmImpact | Should -Be 'High'
        }

        It 'a candidate object binds every parameter it carries by property name' {
            $candidateType = $command.ImplementingType.Assembly.GetType('PartitionOps.PowerShell.Ilm.IlmMergeCandidate', $true)
            $properties = $candidateType.GetProperties().Name
            $byName = $command.Parameters.Values |
                Where-Object { $_.ParameterSets.Values.ValueFromPipelineByPropertyName -contains $true } |
                ForEach-Object Name
            foreach ($name in $byName | Where-Object { $_ -ne 'Partition' }) { $properties | Should -Contain $name }
            $properties | Should -Not -Contain 'Partition'
        }

        It 'declares IlmActionResult as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.PowerShell.Ilm.IlmActionResult'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'neither -Partition nor a candidate is an InvalidArgument error naming -Partition' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Table = 'sales' }
            $null = Invoke-IlmPartitionMerge @bad -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-Partition*'
        }

        It 'a bad -AsOf throws with -EnableException' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Table = 'sales'; Partition = 'p_2023_11'; AsOf = '2025-13-01' }
            { Invoke-IlmPartitionMerge @bad -Confirm:$false -EnableException } |
                Should -Throw -ErrorId "InvalidRequest,$fqidSuffix"
        }

        It 'an unknown -Action is refused at binding' {
            { Invoke-IlmPartitionMerge -SqlInstance pg01 -Provider postgresql -Table sales -Action Split -SourcePartition p_2023 } |
                Should -Throw -ErrorId "ParameterArgumentValidationError,$fqidSuffix"
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        BeforeEach {
            $cs = $env:PARTITIONOPS_TEST_POSTGRES
            $schema = New-IlmTestTable -ConnectionString $cs
            $policy = New-IlmTestPolicy -Directory $TestDrive
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $scope = @{ Schema = $schema; ControlSchema = "${schema}_ctl"; Policy = $policy; AsOf = $IlmAsOf }
        }
        AfterEach {
            if ($schema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $schema }
        }

        It '-WhatIf prints the SQL and changes nothing' {
            Get-IlmMergeCandidate -Connection $conn -Table sales @scope | Invoke-IlmPartitionMerge -WhatIf
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_11,p_2023_12,p_2024_01'
        }

        It 'merges the piped candidates and audits them' {
            $results = @(Get-IlmMergeCandidate -Connection $conn -Table sales @scope |
                Invoke-IlmPartitionMerge -Confirm:$false -EnableException)
            $results.Status | Should -Be 'SUCCESS'
            $results.RowsAfter | Should -Be $results.RowsBefore
            $results.RowsMerged | Should -Be 300
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_12,p_2024_01'
            (Get-IlmMergeHistory -Connection $conn -Table sales -Schema $schema -ControlSchema "${schema}_ctl").MergeStatus |
                Should -Be 'SUCCESS'
        }

        It 'merges one named monthly partition (the manual merge)' {
            $result = Invoke-IlmPartitionMerge -Connection $conn -Table sales -Partition p_2023_11 @scope -Confirm:$false -EnableException
            $result.TargetPartition | Should -Be 'p_2023'
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_12,p_2024_01'
        }

        It 'a partition that is not due is an InvalidArgument error naming -Partition with the reason, and nothing changes' {
            $quiet = @{ ErrorVariable = 'err'; ErrorAction = 'SilentlyContinue' }
            $null = Invoke-IlmPartitionMerge -Connection $conn -Table sales -Partition p_2024_01 @scope -Confirm:$false @quiet
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -BeLike '-Partition*'
            $err[0].Exception.Message | Should -Match 'still HOT'
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_11,p_2023_12,p_2024_01'
        }

        It 'runs only the chosen merge when the plan also has other work' {
            # As of 2026-01-01 December is due too: the plan merges both months; only November is chosen.
            $later = $scope.Clone(); $later.AsOf = '2026-01-01'
            $result = Invoke-IlmPartitionMerge -Connection $conn -Table sales -Partition p_2023_11 @later -Confirm:$false -EnableException
            @($result).Count | Should -Be 1
            $result.SourcePartition -join ',' | Should -Be 'p_2023,p_2023_11'
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_12,p_2024_01'
        }

        It 'a later month without the earlier one names what it needs, and nothing changes' {
            $later = $scope.Clone(); $later.AsOf = '2026-01-01'
            $quiet = @{ ErrorVariable = 'err'; ErrorAction = 'SilentlyContinue' }
            $null = Invoke-IlmPartitionMerge -Connection $conn -Table sales -Partition p_2023_12 @later -Confirm:$false @quiet
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -Match 'needs merge p_2023_11 into p_2023'
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_11,p_2023_12,p_2024_01'
        }
    }
}
