#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Output a DBA reads at a glance: every default table fits an 80-column console with every column shown and no
# value cut to "…", and Format-List shows properties, not the raw text of nested records.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    . (Join-Path $PSScriptRoot 'Ilm.TestSupport.ps1')
    [xml]$formats = Get-Content (Join-Path $repoRoot 'module/PartitionOps.Format.ps1xml') -Raw

    function Assert-Fits80 {
        <# The object's default view at 80 columns: no line longer, nothing cut, every column header shown. #>
        param([Parameter(Mandatory)] $InputObject, [string[]] $Header = @())
        $text = $InputObject | Out-String -Width 80
        $text | Should -Not -Match '…' -Because "a value was cut:`n$text"
        $text -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 } | Should -BeNullOrEmpty
        foreach ($h in $Header) { $text | Should -Match ([regex]::Escape($h)) -Because "column $h should show:`n$text" }
        $text
    }

    function Assert-ListShowsProperties {
        <# Format-List of the object: no "TypeName { Property = value, ... }" record text. #>
        param([Parameter(Mandatory)] $InputObject)
        $text = $InputObject | Format-List | Out-String -Width 80
        $text | Should -Not -Match '\w+ \{ \w+ = ' -Because "Format-List printed a record's raw text:`n$text"
        $text | Should -Not -Match '…'
        $text
    }
}

Describe 'Format.ps1xml' {
    It 'every table view <_> sets a width for each column, adding up to 80 columns at most' -ForEach @(
        ([xml](Get-Content (Join-Path $PSScriptRoot '../../module/PartitionOps.Format.ps1xml') -Raw)).Configuration.ViewDefinitions.View |
            Where-Object { $_.TableControl } | ForEach-Object Name
    ) {
        $view = $formats.Configuration.ViewDefinitions.View | Where-Object Name -eq $_
        $headers = @($view.TableControl.TableHeaders.TableColumnHeader)
        $headers | Where-Object { -not $_.Width } | ForEach-Object Label | Should -BeNullOrEmpty
        ($headers | Measure-Object -Property Width -Sum).Sum + $headers.Count - 1 | Should -BeLessOrEqual 80
        # Wrap: a long value (a server, a table name) continues on the next line rather than being cut.
        $view.TableControl.TableRowEntries.TableRowEntry.SelectSingleNode('Wrap') | Should -Not -BeNullOrEmpty
    }
}

Describe 'Views of live objects at 80 columns (PostgreSQL)' {
    BeforeAll {
        $cs = $env:PARTITIONOPS_TEST_POSTGRES
        if (-not $cs) { throw 'PARTITIONOPS_TEST_POSTGRES is required (run tests/Pester/Invoke-PesterSuite.ps1)' }
        # 30 types and 20,000 rows: counts with thousands separators, and the longest system type name.
        $schema = New-BackfillTestSchema -ConnectionString $cs -Rows 20000 -TypeCount 30
        $conn = New-PartitionOpsConnection -ConnectionString $cs -Provider postgresql
        $scope = @{ Schema = $schema; ControlSchema = "${schema}_ctl" }
        $before = Get-BackfillProgress -Connection $conn @scope -EnableException
        $result = Start-PartitionBackfill -Connection $conn @scope -Confirm:$false -EnableException
        $ilmSchema = New-IlmTestTable -ConnectionString $cs
        $policyDir = Join-Path ([IO.Path]::GetTempPath()) ('po-format-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $policyDir
        $ilm = @{ Schema = $ilmSchema; ControlSchema = "${ilmSchema}_ctl"; Policy = (New-IlmTestPolicy -Directory $policyDir) }
    }
    AfterAll {
        if ($schema) { Remove-BackfillTestSchema -ConnectionString $cs -Schema $schema }
        if ($ilmSchema) { Remove-IlmTestSchema -ConnectionString $cs -Schema $ilmSchema }
        if ($policyDir) { Remove-Item $policyDir -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'New-PartitionOpsConnection: a long server name wraps instead of being cut' {
        $long = New-PartitionOpsConnection -SqlInstance 'fhir-prod-eastus2-01.database.windows.net' -Database fhir
        $text = Assert-Fits80 $long -Header 'Provider', 'Server', 'Database', 'Authentication'
        # The Server column is 27 wide: the rest of the value continues on the next line, in the same column.
        $text | Should -Match ([regex]::Escape($long.Server.Substring(0, 27)))
        $text | Should -Match ('\n\s{11}' + [regex]::Escape($long.Server.Substring(27)))
    }

    It 'Get-BackfillProgress: every column, whole numbers, before and after a run' {
        Assert-Fits80 $before -Header 'TypeName', 'Status', 'Progress', 'Moved', 'Rows/s', 'ETA' | Should -Match 'CompartmentDefinition'
        $after = Get-BackfillProgress -Connection $conn @scope -EnableException
        $text = Assert-Fits80 $after -Header 'TypeName', 'Status', 'Progress', 'Moved', 'Rows/s', 'ETA'
        foreach ($type in $after) {
            $rows = [regex]::Escape('{0:N0}' -f $type.RowsUpdated)
            $text | Should -Match ("{0}\s+done\s+\[##########\] 100\.0%\s+{1}\b" -f $type.TypeName, $rows)
        }
    }

    It 'Get-BackfillProgress -AsReport, in a table and as a list' {
        $report = Get-BackfillProgress -Connection $conn @scope -AsReport -EnableException
        Assert-Fits80 $report -Header 'Table', 'RunId', 'Status', 'Progress', 'Moved', 'ETA' | Out-Null
        $list = Assert-ListShowsProperties $report
        $list | Should -Match 'CompartmentDefinition\s+done\s+\[##########\] 100\.0%'
    }

    It 'Start-PartitionBackfill result, in a table and as a list' {
        Assert-Fits80 $result -Header 'RunId', 'Status', 'Moved', 'Batches', 'Elapsed', 'Types' | Out-Null
        $list = Assert-ListShowsProperties $result
        $list | Should -Match 'IndexesBuilt\s+: build '
        $list | Should -Match ('RowsUpdated\s+: ' + [regex]::Escape('{0:N0}' -f $result.RowsUpdated))
    }

    It 'Test-BackfillIntegrity, its types, and Test-BackfillPrerequisite with its checks' {
        $integrity = Test-BackfillIntegrity -Connection $conn @scope -EnableException
        Assert-Fits80 $integrity -Header 'Table', 'Passed', 'SystemMisplaced', 'OtherMisplaced', 'Types' | Out-Null
        Assert-Fits80 $integrity.Types -Header 'TypeName', 'MisplacedRows' | Out-Null
        Assert-ListShowsProperties $integrity | Should -Match 'ValueSet\s+system\s+0'
        $prerequisites = Test-BackfillPrerequisite -Connection $conn @scope -EnableException
        Assert-Fits80 $prerequisites | Should -Match '\[ok\]'
        Assert-Fits80 $prerequisites.Checks -Header 'Passed', 'Name', 'Detail' | Out-Null
    }

    It 'ILM: candidates, merge results, history, summary, health and config' {
        $candidates = Get-IlmMergeCandidate -Connection $conn -Table sales @ilm -AsOf $IlmAsOf -EnableException
        Assert-Fits80 $candidates -Header 'Table', 'Action', 'Source', 'Target', 'Tier', 'Tablespace', 'Rows' | Out-Null
        Assert-ListShowsProperties $candidates | Should -Match 'Sql\s+: '
        $merged = Invoke-IlmMaintenance -Connection $conn -Table sales @ilm -AsOf $IlmAsOf -Confirm:$false -EnableException
        Assert-Fits80 $merged -Header 'Status', 'Seconds', 'Rows' | Should -Match 'SUCCESS'
        $history = Get-IlmMergeHistory -Connection $conn -Table sales -Schema $ilmSchema -ControlSchema $ilm.ControlSchema
        Assert-Fits80 $history -Header 'MergeDate', 'Source', 'Rows' | Out-Null
        Assert-Fits80 (Get-IlmPartitionSummary -Connection $conn -Table sales @ilm) -Header 'Tier', 'Monthly%' | Out-Null
        $health = Test-IlmHealth -Connection $conn -Table sales @ilm -EnableException
        Assert-Fits80 $health -Header 'Passed', 'Merges', 'Success%' | Out-Null
        Assert-Fits80 $health.Checks -Header 'Passed', 'Kind', 'Name', 'Message' | Out-Null
        Assert-ListShowsProperties $health | Should -Match '\[ok\]\s+merge failure rate'
        Assert-Fits80 (Get-IlmConfig -Connection $conn -ControlSchema $ilm.ControlSchema) -Header 'Key', 'Value', 'Description' | Out-Null
    }
}
