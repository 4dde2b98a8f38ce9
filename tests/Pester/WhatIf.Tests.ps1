#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# -WhatIf as a DBA reads it on a partitioned table: first what will happen (table, types, phases with their statement
# counts), then the SQL with the per-partition repeats counted rather than printed; -Verbose adds every statement.
# The text goes to the host, so it is read from a new pwsh's console output.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $manifestPath = Join-Path $repoRoot 'PartitionOps.psd1'
    Import-Module $manifestPath -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')

    function Get-ConsoleText {
        <# What a console shows for $Command, run after importing the module (WhatIf text is host output, not a stream). #>
        param([string] $Command)
        $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$manifestPath'; $Command"
        $text = & (Get-PwshPath) -NoProfile -NonInteractive -Command $script 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($text -join "`n")
        @($text | ForEach-Object { "$_" })
    }
}

Describe '-WhatIf on a partitioned table (PostgreSQL)' {
    BeforeAll {
        $cs = $env:PARTITIONOPS_TEST_POSTGRES
        if (-not $cs) { throw 'PARTITIONOPS_TEST_POSTGRES is required (run tests/Pester/Invoke-PesterSuite.ps1)' }
        # 30 types: 30 list partitions, so two index builds of 30 CREATE INDEX + 30 ATTACH PARTITION each.
        $schema = New-BackfillTestSchema -ConnectionString $cs -Rows 3000 -TypeCount 30
        $call = "Start-PartitionBackfill -ConnectionString '$cs' -Provider postgresql -Schema $schema -ControlSchema ${schema}_ctl -WhatIf"
        $whatIf = Get-ConsoleText $call
        $verbose = Get-ConsoleText "$call -Verbose"
    }
    AfterAll {
        if ($schema) { Remove-BackfillTestSchema -ConnectionString $cs -Schema $schema }
    }

    It 'says first what will happen: table, types, phases with statement counts' {
        $whatIf[0] | Should -BeLike "What if: Performing the operation `"Start backfill`" on target `"$schema.Resource*`":"
        $whatIf[1] | Should -Be "  table: $schema.Resource"
        $whatIf[2] | Should -Match '^  types: 7 \(SearchParameter, '
        $phases = $whatIf | Where-Object { $_ -match '^  (control|column|index|backfill): .+ \(\d+ statements?\)$' }
        ($phases -replace '^  (\w+):.*', '$1') -join ',' | Should -Be 'control,column,index,index,backfill'
        $whatIf | Where-Object { $_ -match '^  index: build .+ \(6\d statements\)$' } | Should -HaveCount 2
    }

    It 'then the SQL, every kind of statement once or twice and the repeats counted' {
        $firstSql = [array]::FindIndex([string[]]$whatIf,
            [Predicate[string]] { param($l) $l -match '^(CREATE|ALTER|SELECT|DO|INSERT|SET)' })
        $countLine = [array]::FindIndex([string[]]$whatIf,
            [Predicate[string]] { param($l) $l -match '^[\d,]+ SQL statements; repeated ones are counted' })
        $countLine | Should -BeGreaterThan 2
        $firstSql | Should -BeGreaterThan $countLine
        @($whatIf | Where-Object { $_ -match 'ATTACH PARTITION' }).Count | Should -BeLessOrEqual 4
        $whatIf | Where-Object { $_ -match '^-- \d+ more statements like the ones above \(-Verbose prints them\)$' } |
            Should -Not -BeNullOrEmpty
        $whatIf.Count | Should -BeLessThan 150
    }

    It '-Verbose adds every statement' {
        @($verbose | Where-Object { $_ -match 'ATTACH PARTITION' }).Count | Should -BeGreaterOrEqual 60
        $verbose | Where-Object { $_ -match 'every statement:$' } | Should -Not -BeNullOrEmpty
    }

    It 'changes nothing' {
        $columnSql = "SELECT count(*) FROM information_schema.columns WHERE table_schema = '$schema' AND column_name = 'PartitionId'"
        Invoke-BackfillTestSql -ConnectionString $cs -Sql $columnSql | Should -Be 0
    }
}
