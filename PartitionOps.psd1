# Module manifest for PartitionOps. Works from a checkout after ./build.ps1 (Import-Module ./PartitionOps.psd1);
# ./build.ps1 -Task Package writes the Gallery / Azure Automation layout with the same content.
@{
    # The cmdlet assembly only; the engine and database drivers load from module/bin/dependencies
    # into PartitionOps' own AssemblyLoadContext (see src/PartitionOps.PowerShell/Loading).
    RootModule           = 'module/bin/PartitionOps.PowerShell.dll'

    # Keep equal to PartitionOpsVersion in Directory.Build.props (a test checks it).
    ModuleVersion        = '0.1.0'

    GUID                 = '7feaeefc-da99-4c66-a1c8-a1fd985301a7'
    Author               = 'PartitionOps contributors'
    CompanyName          = 'PartitionOps'
    Copyright            = '(c) PartitionOps contributors. MIT License.'
    Description          = 'Online re-partitioning and partition lifecycle for DBAs: an incremental, throttled, resumable backfill for lightweight partitioning of very large tables (SQL Server, PostgreSQL) and ILM partition merges across HOT/WARM/COLD tiers (Oracle, PostgreSQL).'

    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'

    FormatsToProcess     = @('module/PartitionOps.Format.ps1xml')
    TypesToProcess       = @('module/PartitionOps.Types.ps1xml')

    # Explicit list, no wildcards: add each new cmdlet here (a test compares it with the assembly).
    CmdletsToExport      = @(
        'Get-BackfillProgress'
        'Get-IlmConfig'
        'Get-IlmMergeCandidate'
        'Get-IlmMergeHistory'
        'Get-IlmPartitionSummary'
        'Invoke-IlmMaintenance'
        'Invoke-IlmPartitionMerge'
        'New-PartitionOpsConnection'
        'Set-IlmConfig'
        'Start-PartitionBackfill'
        'Stop-PartitionBackfill'
        'Test-BackfillIntegrity'
        'Test-BackfillPrerequisite'
        'Test-IlmHealth'
        'Undo-PartitionBackfill'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags         = @('SQLServer', 'AzureSQL', 'PostgreSQL', 'Oracle', 'Partitioning', 'Partition', 'ILM', 'Backfill', 'DBA',
                'AzureAutomation', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://github.com/partitionops/partitionops/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/partitionops/partitionops'
            ReleaseNotes = @'
0.1.0
- Module infrastructure: New-PartitionOpsConnection (-ConnectionString/-Provider, -SqlInstance/-Database/-SqlCredential, -AccessToken).
- Backfill cmdlets: Start-PartitionBackfill, Undo-PartitionBackfill, Stop-PartitionBackfill, Get-BackfillProgress,
  Test-BackfillIntegrity, Test-BackfillPrerequisite (-WhatIf shows the SQL; one progress bar per resource type).
- ILM cmdlets (Oracle, PostgreSQL): Get-IlmMergeCandidate, Invoke-IlmPartitionMerge, Invoke-IlmMaintenance, Get-IlmMergeHistory,
  Get-IlmPartitionSummary, Test-IlmHealth, Get-IlmConfig, Set-IlmConfig (-WhatIf shows the SQL; candidates pipe into the merge).
- Dependencies (engine, Npgsql, Microsoft.Data.SqlClient) load in their own AssemblyLoadContext, so they do not clash with dbatools or Az.
'@
        }
    }
}
