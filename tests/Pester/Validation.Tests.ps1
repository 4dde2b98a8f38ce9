#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The environment validation suite (module/Validation) run as a DBA runs it: Invoke-Pester on the folder in a new
# pwsh, with the data README shows, against PostgreSQL in the states it must pass and fail on.
# Needs PARTITIONOPS_TEST_POSTGRES and PARTITIONOPS_PESTER_MANIFEST (tests/Pester/Invoke-PesterSuite.ps1 sets both).

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $validationPath = Join-Path $repoRoot 'module/Validation'
    $pesterManifest = $env:PARTITIONOPS_PESTER_MANIFEST
    if (-not $pesterManifest) { $pesterManifest = (Get-Module Pester).Path -replace '\.psm1$', '.psd1' }

    function Invoke-Validation {
        <# Invoke-Pester -Container (New-PesterContainer -Path module/Validation -Data $Data) in a new pwsh; one row per test. #>
        param([hashtable] $Data, [string[]] $ExcludeTag = @())
        Invoke-ChildPwsh -Arguments $pesterManifest, $validationPath, $Data, $ExcludeTag -ScriptBlock {
            param([string] $PesterManifest, [string] $ValidationPath, [hashtable] $Data, [string[]] $ExcludeTag)
            Import-Module -Name $PesterManifest
            $config = New-PesterConfiguration
            $config.Run.Container = New-PesterContainer -Path $ValidationPath -Data $Data
            $config.Run.PassThru = $true
            $config.Output.Verbosity = 'None'
            if ($ExcludeTag) { $config.Filter.ExcludeTag = $ExcludeTag }
            $run = Invoke-Pester -Configuration $config
            foreach ($test in $run.Tests) {
                [pscustomobject]@{
                    Name    = $test.ExpandedPath
                    Result  = [string]$test.Result
                    Message = ($test.ErrorRecord | ForEach-Object { $_.ToString() }) -join '; '
                }
            }
            if ($run.FailedContainersCount) {
                [pscustomobject]@{ Name = '(container)'; Result = 'Failed'; Message = "$($run.Containers.ErrorRecord)" }
            }
        }
    }

    function Get-FailedValidation {
        param($Rows)
        $Rows | Where-Object Result -eq 'Failed' | ForEach-Object { "$($_.Name): $($_.Message)" }
    }
}

Describe 'module/Validation' {
    BeforeAll {
        $cs = $env:PARTITIONOPS_TEST_POSTGRES
        if (-not $cs) { throw 'PARTITIONOPS_TEST_POSTGRES is required (run tests/Pester/Invoke-PesterSuite.ps1)' }
    }

    Context 'README: only -ConnectionString and -Provider, a finished backfill in the default schemas' {
        BeforeAll {
            $databaseCs = New-BackfillTestDatabase -ConnectionString $cs
            $null = New-BackfillTestSchema -ConnectionString $databaseCs -Schema public
            $databaseConnection = New-PartitionOpsConnection -ConnectionString $databaseCs -Provider postgresql
            $null = Start-PartitionBackfill -Connection $databaseConnection -Confirm:$false -EnableException
            $rows = Invoke-Validation -Data @{ ConnectionString = $databaseCs; Provider = 'postgresql' }
        }
        AfterAll {
            if ($databaseCs) { Remove-BackfillTestDatabase -ConnectionString $cs -DatabaseConnectionString $databaseCs }
        }

        It 'every check passes' {
            Get-FailedValidation $rows | Should -BeNullOrEmpty
        }

        It 'ran the connection, backfill and ILM audit checks' {
            $rows.Name | Should -Contain 'Connection.the database accepts a connection'
            $rows.Name | Should -Contain 'Backfill integrity.the latest run is done'
            $rows.Name | Should -Contain 'ILM health.no failed merge is left unretried'
            ($rows | Where-Object Result -eq 'Passed').Count | Should -BeGreaterOrEqual 12
        }
    }

    Context 'Every optional parameter: profile, schemas, types, ILM tables, policy file and thresholds' {
        BeforeAll {
            $schema = New-BackfillTestSchema -ConnectionString $cs
            $ilmSchema = New-IlmTestTable -ConnectionString $cs
            $policyDir = Join-Path ([IO.Path]::GetTempPath()) ('po-validation-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            $null = New-Item -ItemType Directory -Path $policyDir
            $policy = New-IlmTestPolicy -Directory $policyDir
            $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
            $backfillScope = @{ Schema = $schema; ControlSchema = "${schema}_ctl" }
            $null = Start-PartitionBackfill -Connection $conn @backfillScope -Confirm:$false -EnableException
            $ilmScope = @{ Schema = $ilmSchema; ControlSchema = "${ilmSchema}_ctl"; Policy = $policy }
            $null = Invoke-IlmMaintenance -Connection $conn -Table sales @ilmScope -AsOf $IlmAsOf -Confirm:$false -EnableException
            $data = @{
                ConnectionString        = $cs
                Provider                = 'postgresql'
                BackfillProfile         = 'fhir'
                Schema                  = $schema
                ControlSchema           = "${schema}_ctl"
                ResourceType            = [string[]]@('CodeSystem', 'ValueSet')
                RequireBackfillComplete = $true
                IlmTable                = [string[]]@('sales')
                IlmSchema               = $ilmSchema
                IlmPolicy               = $policy
                IlmControlSchema        = "${ilmSchema}_ctl"
                IlmHealthThreshold      = @{ MaxFailureRatePercent = 5 }
            }
            $rows = Invoke-Validation -Data $data
        }
        AfterAll {
            if ($schema) { Remove-BackfillTestSchema -ConnectionString $cs -Schema $schema }
            if ($ilmSchema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $ilmSchema }
            if ($policyDir) { Remove-Item $policyDir -Recurse -Force -ErrorAction SilentlyContinue }
        }

        It 'every check passes' {
            Get-FailedValidation $rows | Should -BeNullOrEmpty
        }

        It 'checked the ILM table with the policy file' {
            $rows.Name | Should -Contain 'ILM health.Table sales.Test-IlmHealth passes'
            $rows.Name | Should -Contain 'ILM health.Table sales.every partition is in the tier its age requires'
        }

        It 'a threshold given in the data can fail the ILM audit' {
            $strict = $data.Clone()
            $strict.IlmHealthThreshold = @{ MaxAverageMergeSeconds = 0 }
            $failed = Get-FailedValidation (Invoke-Validation -Data $strict)
            $failed | Should -Not -BeNullOrEmpty
            $failed -join "`n" | Should -Match 'success criteria|Test-IlmHealth passes'
        }
    }

    Context 'Fails when a check does not pass' {
        BeforeAll {
            $schema = New-BackfillTestSchema -ConnectionString $cs
            $rows = Invoke-Validation -Data @{
                ConnectionString = $cs; Provider = 'postgresql'; Schema = $schema; ControlSchema = "${schema}_ctl"
            }
        }
        AfterAll {
            if ($schema) { Remove-BackfillTestSchema -ConnectionString $cs -Schema $schema }
        }

        It 'no backfill has run: "a backfill has run on the table" fails and names the table' {
            $failed = $rows | Where-Object Result -eq 'Failed'
            $failed.Name | Should -Contain 'Backfill integrity.a backfill has run on the table'
            ($failed | Where-Object Name -eq 'Backfill integrity.a backfill has run on the table').Message | Should -Match $schema
        }

        It 'the checks that hold still pass' {
            ($rows | Where-Object Name -eq 'Connection.the database accepts a connection').Result | Should -Be 'Passed'
        }
    }
}
