#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    PartitionOps environment validation: a Pester 5 suite a DBA runs against a database to prove it is in the
    expected state. Every check reads only (Test-BackfillPrerequisite times one sample batch inside a
    transaction that it rolls back).

    $container = New-PesterContainer -Path ./module/Validation/PartitionOps.Validation.Tests.ps1 -Data @{
        ConnectionString = 'Server=tcp:myserver.database.windows.net;Database=fhir;Authentication=Active Directory Default'
        Provider         = 'sqlserver'
    }
    Invoke-Pester -Container $container -Output Detailed

    Optional data: BackfillProfile (fhir or a profile file), Schema, ControlSchema, ResourceType (string[]),
    RequireBackfillComplete ($false before or during a backfill: integrity is then checked only for done types),
    IlmTable (string[]: the ILM-managed tables; without it only the merge audit is checked), IlmSchema, IlmPolicy
    (a tier_config file), IlmControlSchema, IlmHealthThreshold (hashtable of Test-IlmHealth thresholds, e.g.
    @{ MaxFailureRatePercent = 5 }).
    Tags: Connection, Backfill, Prerequisite, Integrity, Ilm (e.g. Invoke-Pester -Container $c -ExcludeTag Prerequisite).
#>
param(
    [Parameter(Mandatory)]
    [string] $ConnectionString,

    [ValidateSet('sqlserver', 'postgresql', 'oracle')]
    [string] $Provider = 'sqlserver',

    [string] $BackfillProfile,
    [string] $Schema,
    [string] $ControlSchema,
    [string[]] $ResourceType,
    [bool] $RequireBackfillComplete = $true,
    [string[]] $IlmTable,
    [string] $IlmSchema,
    [string] $IlmPolicy,
    [string] $IlmControlSchema,
    [hashtable] $IlmHealthThreshold = @{}
)

BeforeDiscovery {
    # The backfill targets SQL Server and PostgreSQL; Oracle environments are validated by the ILM checks only.
    $backfillTarget = $Provider -ne 'oracle'
    # ILM runs on Oracle and PostgreSQL.
    $ilmTarget = $Provider -ne 'sqlserver'
    $ilmTables = @($IlmTable | Where-Object { $_ } | ForEach-Object { @{ Table = $_ } })
}

BeforeAll {
    if (-not (Get-Module PartitionOps)) {
        $checkout = Join-Path $PSScriptRoot '../../PartitionOps.psd1'
        if (Test-Path $checkout) { Import-Module $checkout -ErrorAction Stop } else { Import-Module PartitionOps -ErrorAction Stop }
    }
    $connection = New-PartitionOpsConnection -ConnectionString $ConnectionString -Provider $Provider -EnableException
    # $BackfillProfile: a parameter named Profile would shadow the automatic variable $PROFILE.
    $scope = @{}
    if ($BackfillProfile) { $scope.Profile = $BackfillProfile }
    if ($Schema) { $scope.Schema = $Schema }
    if ($ControlSchema) { $scope.ControlSchema = $ControlSchema }
    $types = @{}
    if ($ResourceType) { $types.ResourceType = $ResourceType }
    $ilm = @{}
    if ($IlmSchema) { $ilm.Schema = $IlmSchema }
    if ($IlmControlSchema) { $ilm.ControlSchema = $IlmControlSchema }
    # Not $ilmPolicy: PowerShell names ignore case, so that would overwrite the [string] $IlmPolicy parameter.
    $policySplat = @{}
    if ($IlmPolicy) { $policySplat.Policy = $IlmPolicy }
}

Describe 'Connection' -Tag 'Connection' {
    It 'the database accepts a connection' {
        { New-PartitionOpsConnection -ConnectionString $ConnectionString -Provider $Provider -Validate -EnableException } |
            Should -Not -Throw
    }
}

Describe 'Backfill prerequisites' -Tag 'Backfill', 'Prerequisite' -Skip:(-not $backfillTarget) {
    BeforeAll {
        $prerequisites = $connection | Test-BackfillPrerequisite @scope @types -EnableException
    }

    It 'every prerequisite check passes' {
        $failed = $prerequisites.Checks | Where-Object { -not $_.Passed } | ForEach-Object { "$($_.Name): $($_.Detail)" }
        $prerequisites.Passed | Should -BeTrue -Because ($failed -join '; ')
    }

    It 'the lookup table holds every system type of the profile' {
        ($prerequisites.Checks | Where-Object Name -eq 'lookup holds every system type').Passed | Should -BeTrue
    }
}

Describe 'Backfill integrity' -Tag 'Backfill', 'Integrity' -Skip:(-not $backfillTarget) {
    BeforeAll {
        $progress = $connection | Get-BackfillProgress @scope @types -AsReport -EnableException
        $integrity = if ($progress.RunId) { $connection | Test-BackfillIntegrity @scope @types -EnableException }
    }

    It 'a backfill has run on the table' {
        $progress.RunId | Should -Not -BeNullOrEmpty -Because "no backfill run is recorded for $($progress.Table)"
    }

    It 'the latest run is done' -Skip:(-not $RequireBackfillComplete) {
        $progress.Status | Should -Be 'done' -Because "run $($progress.RunId) on $($progress.Table) is $($progress.Status)"
    }

    It 'no resource type failed' {
        $failed = $progress.Types | Where-Object Status -eq 'failed' | ForEach-Object { "$($_.TypeName): $($_.LastError)" }
        $failed | Should -BeNullOrEmpty
    }

    It 'no row of a finished system type is left in the default partition' {
        $done = ($progress.Types | Where-Object Status -eq 'done').TypeName
        $misplaced = $integrity.Types | Where-Object {
            $_.IsSystemType -and $_.MisplacedRows -gt 0 -and ($RequireBackfillComplete -or $done -contains $_.TypeName)
        }
        $misplaced | ForEach-Object { "$($_.TypeName): $($_.MisplacedRows)" } | Should -BeNullOrEmpty
    }

    It 'no row of another type is in the system partition' {
        $others = ($integrity.Types | Where-Object { -not $_.IsSystemType }).TypeName -join ', '
        $integrity.MisplacedUserRows | Should -Be 0 -Because $others
    }

    It 'Test-BackfillIntegrity passes' -Skip:(-not $RequireBackfillComplete) {
        $integrity.Passed | Should -BeTrue -Because ("$($integrity.MisplacedSystemRows) system rows and " +
            "$($integrity.MisplacedUserRows) other rows are misplaced")
    }
}

# ==================================================================================================
# ILM HEALTH: the spec's alerts and success criteria (Test-IlmHealth), no failed merge left unretried,
# and every partition in the tier its age requires (no move left in the plan). Reads only.
# ==================================================================================================
Describe 'ILM health' -Tag 'Ilm' -Skip:(-not $ilmTarget) {
    BeforeAll {
        $audit = $connection | Test-IlmHealth @ilm @policySplat @IlmHealthThreshold -EnableException
    }

    It 'no ILM alert fires on the merge audit' {
        $audit.Alerts | ForEach-Object { "$($_.Name): $($_.Message)" } | Should -BeNullOrEmpty
    }

    It 'the merge success criteria are met' {
        $audit.MissedCriteria | ForEach-Object { "$($_.Name): $($_.Message)" } | Should -BeNullOrEmpty
    }

    It 'no failed merge is left unretried' {
        $audit.FailedNotRetried | Should -Be 0 -Because ('MERGE_RETRY_FAILED retries failed merges on the next run; ' +
            'run Invoke-IlmMaintenance or Invoke-IlmPartitionMerge -Partition')
    }

    Context 'Table <Table>' -ForEach $ilmTables {
        BeforeAll {
            $health = $connection | Test-IlmHealth -Table $Table @ilm @policySplat @IlmHealthThreshold -EnableException
            $candidates = @($connection | Get-IlmMergeCandidate -Table $Table @ilm @policySplat -EnableException)
        }

        It 'Test-IlmHealth passes' {
            $failed = $health.Checks | Where-Object { -not $_.Passed } | ForEach-Object { "$($_.Name): $($_.Message)" }
            $health.Passed | Should -BeTrue -Because ($failed -join '; ')
        }

        It 'every partition is in the tier its age requires' {
            $candidates | Where-Object Action -eq 'Move' | ForEach-Object Reason | Should -BeNullOrEmpty
        }

        It 'WARM holds no more monthly partitions than the alert allows' {
            if ($health.WarmTotal) {
                $health.WarmMonthly | Should -BeLessOrEqual ($IlmHealthThreshold.MaxWarmMonthlyPartitions ?? 100)
            }
        }
    }
}
