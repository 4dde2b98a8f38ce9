#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# README's PowerShell walk-through, run line by line as a DBA would type it: the code block under
# "## Backfill: PowerShell" is read from README.md (not copied here), each line runs in order in one new pwsh session
# against the test PostgreSQL, and the only changes are the ones listed in $substitutions (each must still match
# README, so a README edit that breaks the walk-through fails here).

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')

    function Get-ReadmeBlock([string] $Heading) {
        <# The lines of the first ```powershell block after the heading. #>
        $lines = Get-Content (Join-Path $repoRoot 'README.md')
        $start = [array]::IndexOf($lines, $Heading)
        if ($start -lt 0) { throw "README.md has no heading '$Heading'" }
        $open = $start + 1
        while ($lines[$open] -ne '```powershell') { $open++ }
        $close = $open + 1
        while ($lines[$close] -ne '```') { $close++ }
        @($lines[($open + 1)..($close - 1)] | Where-Object { $_.Trim() })
    }
}

Describe "README's backfill walk-through in pwsh" {
    BeforeAll {
        $cs = $env:PARTITIONOPS_TEST_POSTGRES
        if (-not $cs) { throw 'PARTITIONOPS_TEST_POSTGRES is required (run tests/Pester/Invoke-PesterSuite.ps1)' }
        # The walk-through uses the profile's default schema: a database of its own.
        $databaseCs = New-BackfillTestDatabase -ConnectionString $cs
        $null = New-BackfillTestSchema -ConnectionString $databaseCs -Schema public -Rows 4000 -TypeCount 20
        $work = Join-Path ([IO.Path]::GetTempPath()) ('po-readme-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $work
        # The CSV the Undo line pipes in: a ResourceType column, bound by property name.
        [pscustomobject]@{ ResourceType = 'ValueSet' }, [pscustomobject]@{ ResourceType = 'CodeSystem' } |
            Export-Csv -Path (Join-Path $work 'types.csv') -NoTypeInformation

        $walkThrough = Get-ReadmeBlock '## Backfill: PowerShell'
        # README text -> what runs here, and why. Nothing else is changed.
        $substitutions = @(
            # A SQL Server named sql01 is not here: the same cmdlet with the test PostgreSQL.
            @{ From = 'New-PartitionOpsConnection -SqlInstance sql01 -Database fhir'
               To = "New-PartitionOpsConnection -ConnectionString '$databaseCs' -Provider postgresql" }
            # The CSV file sits in a scratch folder, not in the checkout.
            @{ From = 'Import-Csv types.csv'; To = "Import-Csv '$(Join-Path $work 'types.csv')'" }
        )
        $script = [Text.StringBuilder]::new()
        $null = $script.AppendLine("`$ErrorActionPreference = 'Stop'").AppendLine("Set-Location '$repoRoot'")
        foreach ($line in $walkThrough) {
            $run = $line
            foreach ($s in $substitutions) { $run = $run.Replace($s.From, $s.To) }
            # A marker before each line, then the line's output as an 80-column console shows it. The line stands
            # alone in a dot-sourced script block (so that $c = ... stays set): its trailing "# comment" must not
            # swallow the pipe to Out-String.
            $marker = '>>> ' + $line.Replace("'", "''")
            $null = $script.AppendLine("Write-Output '$marker'").AppendLine(". {").AppendLine($run).
                AppendLine("} | Out-String -Width 80 | Write-Output")
        }
        $scriptFile = Join-Path $work 'walk-through.ps1'
        Set-Content -Path $scriptFile -Value $script.ToString()
        $console = @(& (Get-PwshPath) -NoProfile -NonInteractive -File $scriptFile 2>&1 | ForEach-Object { "$_" })
        $exitCode = $LASTEXITCODE
        $text = $console -join "`n"
        # What a failure shows: the end of the session, where the line that failed and its error are.
        $tail = ($console | Select-Object -Last 30) -join "`n"
    }
    AfterAll {
        if ($databaseCs) { Remove-BackfillTestDatabase -ConnectionString $cs -DatabaseConnectionString $databaseCs }
        if ($work) { Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'README still holds every line the test substitutes' {
        foreach ($s in $substitutions) { ($walkThrough -join "`n").Contains($s.From) | Should -BeTrue -Because $s.From }
        $walkThrough.Count | Should -BeGreaterThan 8
    }

    It 'runs every line without an error' {
        $exitCode | Should -Be 0 -Because $tail
        ($console | Where-Object { $_.StartsWith('>>> ') }).Count | Should -Be $walkThrough.Count -Because $tail
    }

    It 'shows help, the plan summary, progress bars and a passing integrity check' {
        $text | Should -Match 'Start-PartitionBackfill -Connection' -Because 'Get-Help -Examples prints the examples'
        $text | Should -Match '\[#{10}\] 100\.0%' -Because $text
        $integrityLine = '>>> (Test-BackfillIntegrity -Connection $c).Passed                              ' +
            '# plus MisplacedSystemRows, MisplacedUserRows, per type'
        $integrity = [array]::IndexOf($console, $integrityLine)
        $integrity | Should -BeGreaterOrEqual 0 -Because 'the integrity line ran'
        ($console[($integrity + 1)..($integrity + 3)] -join ' ') | Should -Match 'True'
    }

    It 'left the table backfilled, with the prototype indexes of the phase-2 line, and nothing undone by -WhatIf' {
        $misplaced = Invoke-BackfillTestSql -ConnectionString $databaseCs -Sql @'
SELECT count(*) FROM public."Resource" r JOIN public."ResourceType" t ON t."ResourceTypeId" = r."ResourceTypeId"
WHERE t."Name" IN ('ValueSet', 'CodeSystem') AND r."PartitionId" <> 1
'@
        $misplaced | Should -Be 0
        $indexes = Invoke-BackfillTestSql -ConnectionString $databaseCs -Sql @'
SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'public."Resource"'::regclass AND c.relname LIKE 'IX_Resource_%Partition%' AND i.indisvalid
'@
        $indexes | Should -Be 4 -Because 'the fhir profile builds two filtered indexes, fhir-prototype two more'
    }
}
