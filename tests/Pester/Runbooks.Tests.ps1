#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The Azure Automation runbooks run as a Hybrid Runbook Worker runs them: a new pwsh, the module imported by name from
# the package that build.ps1 makes, against PostgreSQL. The backfill runbook is time-boxed into a pause and then
# resumed to done; the ILM runbook runs with -ConnectionString (no Azure sign-in); the Azure-only sign-ins fail with
# messages that say what is missing.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    $runbooks = Join-Path $repoRoot 'module/Runbooks'

    $packageRoot = Join-Path ([IO.Path]::GetTempPath()) ('po-runbook-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $buildScript = Join-Path $repoRoot 'build.ps1'
    $build = & (Get-PwshPath) -NoProfile -NonInteractive -File $buildScript -Task Package -NoBuild -OutputPath $packageRoot 2>&1
    if ($LASTEXITCODE -ne 0) { throw "build.ps1 -Task Package failed:`n$($build -join "`n")" }

    function Invoke-Runbook {
        <# Runs a runbook script in a new pwsh whose PSModulePath holds the package; returns exit code and output lines. #>
        param([string] $Name, [hashtable] $Parameters)
        $arguments = foreach ($key in $Parameters.Keys) { "-$key"; [string]$Parameters[$key] }
        $env:PSModulePath, $saved = "$packageRoot$([IO.Path]::PathSeparator)$env:PSModulePath", $env:PSModulePath
        try {
            $output = & (Get-PwshPath) -NoProfile -NonInteractive -File (Join-Path $runbooks $Name) @arguments 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Lines = @($output | ForEach-Object { "$_" }) }
        }
        finally {
            $env:PSModulePath = $saved
        }
    }
}
AfterAll {
    if ($packageRoot) { Remove-Item $packageRoot -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Start-BackfillRunbook.ps1 against PostgreSQL' {
    BeforeAll {
        $cs = $env:PARTITIONOPS_TEST_POSTGRES
        if (-not $cs) { throw 'PARTITIONOPS_TEST_POSTGRES is required (run tests/Pester/Invoke-PesterSuite.ps1)' }
        # The runbook works on the profile's table in the default schema: a database of its own, 30 partitions.
        $databaseCs = New-BackfillTestDatabase -ConnectionString $cs
        $null = New-BackfillTestSchema -ConnectionString $databaseCs -Schema public -Rows 60000 -TypeCount 30
        # One type at a time, 10 rows a first batch, 200 ms between batches, one second: the time box ends the job
        # with work left (7 types of 50 rows or more take 3 batches each at least, even as the batch size grows;
        # without the pause, the walk of these 6,000 rows can end within the second).
        $first = Invoke-Runbook Start-BackfillRunbook.ps1 @{
            ConnectionString = $databaseCs; Provider = 'postgresql'; MaxDuration = '00:00:01'; Parallel = 1; BatchSize = 10
            DelayMilliseconds = 200
        }
        $second = Invoke-Runbook Start-BackfillRunbook.ps1 @{
            ConnectionString = $databaseCs; Provider = 'postgresql'; MaxDuration = '00:10:00'
        }
    }
    AfterAll {
        if ($databaseCs) { Remove-BackfillTestDatabase -ConnectionString $cs -DatabaseConnectionString $databaseCs }
    }

    It 'the time-boxed job pauses and ends successfully' {
        $first.ExitCode | Should -Be 0 -Because ($first.Lines -join "`n")
        $first.Lines | Where-Object { $_ -match '^Paused \(max duration .+\): the next scheduled job resumes the run\.$' } |
            Should -HaveCount 1 -Because ($first.Lines -join "`n")
        $first.Lines | Should -Contain 'Backfill runbook finished.'
    }

    It 'the next job resumes the same run to done and checks integrity' {
        $second.ExitCode | Should -Be 0 -Because ($second.Lines -join "`n")
        $second.Lines | Where-Object { $_ -like '==== Integrity*' } | Should -Not -BeNullOrEmpty
        ($second.Lines -join "`n") | Should -Match 'Resource\s+True\s+0\s+0\s+7'
        $runsSql = "SELECT string_agg(run_id || ':' || status, ',') FROM partitionops.backfill_run"
        $runs = Invoke-BackfillTestSql -ConnectionString $databaseCs -Sql $runsSql
        $runs | Should -Be '1:done' -Because ($first.Lines + $second.Lines -join "`n")
    }

    It 'writes a short job output: the plan summary, not its SQL' {
        foreach ($job in $first, $second) {
            $job.Lines.Count | Should -BeLessThan 90 -Because ($job.Lines -join "`n")
            $job.Lines | Where-Object { $_ -match '^\s*(CREATE|ALTER|SELECT|INSERT|WITH|DO)\b' } | Should -BeNullOrEmpty
        }
        $first.Lines | Where-Object { $_ -match '^\s+index: build .+ \(\d+ statements\)$' } | Should -HaveCount 2
        $first.Lines | Where-Object { $_ -match 'SQL statement\(s\); -WhatIf on the cmdlet shows them' } | Should -Not -BeNullOrEmpty
    }

    It 'fails the job with the reason when the database is not reachable' {
        $bad = Invoke-Runbook Start-BackfillRunbook.ps1 @{ ConnectionString = "$cs;Database=po_no_such_database"; Provider = 'postgresql' }
        $bad.ExitCode | Should -Be 1
        $bad.Lines -join "`n" | Should -Match 'Backfill runbook failed: .*po_no_such_database'
    }

    It '-Authentication AccessToken outside Azure says Az.Accounts is missing, before connecting' {
        $azure = Invoke-Runbook Start-BackfillRunbook.ps1 @{
            SqlInstance = 'myserver.database.windows.net'; Database = 'fhir'; Authentication = 'AccessToken'
        }
        $azure.ExitCode | Should -Be 1
        $azure.Lines -join "`n" |
            Should -Match ('Connect-AzAccount is not available here: ' +
                '-Authentication AccessToken signs in with the managed identity through Az.Accounts')
    }
}

Describe 'Invoke-IlmMaintenanceRunbook.ps1 with -ConnectionString (no Azure sign-in)' {
    BeforeAll {
        $cs = $env:PARTITIONOPS_TEST_POSTGRES
        $schema = New-IlmTestTable -ConnectionString $cs
        $policyDir = Join-Path ([IO.Path]::GetTempPath()) ('po-ilm-runbook-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $policyDir
        $policy = New-IlmTestPolicy -Directory $policyDir
        $job = Invoke-Runbook Invoke-IlmMaintenanceRunbook.ps1 @{
            Table = "$schema.sales"; ConnectionString = $cs; Provider = 'postgresql'; PolicyPath = $policy; ControlSchema = "${schema}_ctl"
        }
    }
    AfterAll {
        if ($schema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $schema }
        if ($policyDir) { Remove-Item $policyDir -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'signs in with the connection string alone and merges what the policy says' {
        $job.ExitCode | Should -Be 0 -Because ($job.Lines -join "`n")
        $job.Lines | Where-Object { $_ -like 'PartitionOps ILM on postgresql * as *' } | Should -Not -BeNullOrEmpty
        ($job.Lines -join "`n") | Should -Match 'Merge\s+p_\d{4}'
        $job.Lines | Where-Object { $_ -like 'ILM runbook finished in *' } | Should -Not -BeNullOrEmpty
        # Today every month of 2023 and January 2024 is older than HOT's 24 months: all of it merges into p_2023 and p_2024.
        Get-IlmTestPartition -ConnectionString $cs -Schema $schema | Should -Not -Match 'p_2023_11'
    }

    It 'reports health and keeps its output short' {
        $job.Lines | Where-Object { $_ -like 'sales: Passed=True' } | Should -Not -BeNullOrEmpty
        $job.Lines.Count | Should -BeLessThan 80 -Because ($job.Lines -join "`n")
        $job.Lines | Where-Object { $_ -match '^\s*(CREATE|ALTER|LOCK|INSERT|DROP)\b' } | Should -BeNullOrEmpty
    }

    It 'the Azure-only sign-ins fail with what is missing: <Name>' -ForEach @(
        @{ Name = 'managed identity token'
            Parameters = @{ Table = 'sales'; SqlInstance = 'pg.postgres.database.azure.com'; Database = 'dwh'; Provider = 'postgresql' }
            Message = 'Connect-AzAccount is not available here: ' +
                '-Authentication AccessToken signs in with the managed identity through Az.Accounts' }
        @{ Name = 'credential asset'
            Parameters = @{ Table = 'SALES_PART'; ConnectionString = 'Data Source=ora01/DWH'; CredentialName = 'ilm' }
            Message = 'Get-AutomationPSCredential is not available here: ' +
                'credential assets exist in Azure Automation and on Hybrid Runbook Workers only' }
        @{ Name = 'token for Oracle'; Parameters = @{ Table = 'SALES_PART'; SqlInstance = 'ora01'; Authentication = 'AccessToken' }
            Message = '-Authentication AccessToken is not supported for Oracle' }
    ) {
        $failed = Invoke-Runbook Invoke-IlmMaintenanceRunbook.ps1 $Parameters
        $failed.ExitCode | Should -Be 1
        $failed.Lines -join "`n" | Should -Match ([regex]::Escape($Message))
    }
}
