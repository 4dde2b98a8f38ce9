#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of Get-IlmMergeCandidate: the parameter contract, input errors, and (with PARTITIONOPS_TEST_POSTGRES)
# the plan of a real partitioned table, piped from a CSV and into Invoke-IlmPartitionMerge -WhatIf.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $command = Get-Command Get-IlmMergeCandidate -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.GetIlmMergeCandidateCommand'
}

Describe 'Get-IlmMergeCandidate' {
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
            @{ Name = 'IncludeSkipped'; Type = [switch]; ByPropertyName = $false }
        ) {
            Assert-IlmParameter $command $Name $Type -ByPropertyName:$ByPropertyName
        }

        It '-Table is mandatory and takes TableName too' {
            $command.Parameters['Table'].Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory |
                Should -Not -Contain $false
            $command.Parameters['Table'].Aliases | Should -Contain 'TableName'
        }

        It 'reads only: no -WhatIf' {
            $command.Parameters.ContainsKey('WhatIf') | Should -BeFalse
        }

        It 'declares IlmMergeCandidate as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.PowerShell.Ilm.IlmMergeCandidate'
        }
    }

    Context 'Input errors (no database needed)' {
        It 'a bad -AsOf is an InvalidArgument error naming -AsOf' {
            $bad = @{ SqlInstance = '127.0.0.1:1'; Provider = 'postgresql'; Table = 'sales'; AsOf = 'yesterday' }
            $null = Get-IlmMergeCandidate @bad -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $err[0].Exception.Message | Should -BeLike '-AsOf*'
        }

        It 'a negative -MaxMerges throws with -EnableException' {
            { Get-IlmMergeCandidate -SqlInstance 127.0.0.1:1 -Provider postgresql -Table sales -MaxMerges -1 -EnableException } |
                Should -Throw -ErrorId "InvalidRequest,$fqidSuffix"
        }

        It 'SQL Server is refused before connecting: ILM runs on Oracle and PostgreSQL' {
            $null = Get-IlmMergeCandidate -SqlInstance sql01 -Table sales -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].Exception.Message | Should -BeLike '-Provider*'
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

        It 'plans the merge of p_2023_11 into p_2023 with its SQL' {
            $candidates = @(Get-IlmMergeCandidate -Connection $conn -Table sales @scope -EnableException)
            $merge = $candidates | Where-Object Action -eq 'Merge'
            $merge.SourcePartition | Should -Be @('p_2023', 'p_2023_11')
            $merge.TargetPartition | Should -Be 'p_2023'
            $merge.Tier | Should -Be 'WARM'
            $merge.Sql | Should -Match 'p_2023_11'
            $merge.Connection | Should -Be $conn
        }

        It '-MaxMerges 0 holds the merge back; -IncludeSkipped shows it with the reason' {
            @(Get-IlmMergeCandidate -Connection $conn -Table sales @scope -MaxMerges 0) | Should -BeNullOrEmpty
            $skip = Get-IlmMergeCandidate -Connection $conn -Table sales @scope -MaxMerges 0 -IncludeSkipped |
                Where-Object Action -eq 'Skip'
            $skip.SourcePartition | Should -Be 'p_2023_11'
            $skip.TargetPartition | Should -Be 'p_2023'
            $skip.Reason | Should -Match 'MAX_MERGES_PER_RUN'
            $skip.Sql | Should -BeNullOrEmpty
        }

        It 'tables pipe in from a CSV' {
            $csv = Join-Path $TestDrive 'tables.csv'
            [pscustomobject]@{ Table = 'sales'; Schema = $schema } | Export-Csv -Path $csv -NoTypeInformation
            $candidates = @(Import-Csv $csv |
                Get-IlmMergeCandidate -Connection $conn -ControlSchema "${schema}_ctl" -Policy $policy -AsOf $IlmAsOf)
            ($candidates | Where-Object Action -eq 'Merge').TargetPartition | Should -Be 'p_2023'
        }

        It 'pipes into Invoke-IlmPartitionMerge -WhatIf, which changes nothing' {
            Get-IlmMergeCandidate -Connection $conn -Table sales @scope | Invoke-IlmPartitionMerge -WhatIf
            Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Be 'p_2023,p_2023_11,p_2023_12,p_2024_01'
        }

        It 'the default view shows the plan at a glance' {
            Get-IlmMergeCandidate -Connection $conn -Table sales @scope | Out-String | Should -Match 'Merge'
        }
    }
}
