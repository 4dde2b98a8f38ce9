#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Module-wide checks that need a real PowerShell: the manifest, the exported commands and the
# dependency isolation (engine and drivers in the module's own AssemblyLoadContext).

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $manifestPath = Join-Path $repoRoot 'PartitionOps.psd1'
    Import-Module $manifestPath -Force -ErrorAction Stop
    $manifest = Import-PowerShellDataFile $manifestPath
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
}

Describe 'PartitionOps module' {
    It 'has a valid manifest' {
        { Test-ModuleManifest -Path $manifestPath -ErrorAction Stop } | Should -Not -Throw
    }

    It 'exports exactly the cmdlets the manifest lists' {
        ((Get-Command -Module PartitionOps).Name | Sort-Object) -join ',' |
            Should -Be (($manifest.CmdletsToExport | Sort-Object) -join ',')
    }

    It 'uses approved verbs only' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module PartitionOps) {
            $approved | Should -Contain $command.Verb -Because $command.Name
        }
    }

    It 'loads the engine and Npgsql into the PartitionOps load context, from bin/dependencies' {
        $null = New-PartitionOpsConnection -SqlInstance pg01 -Provider postgresql
        foreach ($name in 'PartitionOps.Engine', 'Npgsql') {
            $assembly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $name }
            $assembly | Should -Not -BeNullOrEmpty -Because "$name should be loaded"
            foreach ($a in $assembly) {
                [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name | Should -Be 'PartitionOps' -Because $a.Location
                $a.Location | Should -BeLike '*dependencies*'
            }
        }
    }

    It 'loads the cmdlet assembly into the default load context' {
        $cmdlets = (Get-Command New-PartitionOpsConnection).ImplementingType.Assembly
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($cmdlets) |
            Should -Be ([System.Runtime.Loader.AssemblyLoadContext]::Default)
    }

    It 'builds SQL Server connections with the runtime-specific SqlClient' {
        $null = New-PartitionOpsConnection -SqlInstance sql01 -Database fhir
        $sqlClient = [AppDomain]::CurrentDomain.GetAssemblies() |
            Where-Object { $_.GetName().Name -eq 'Microsoft.Data.SqlClient' -and $_.Location -like '*dependencies*' }
        $sqlClient | Should -Not -BeNullOrEmpty
        $sqlClient[0].Location | Should -BeLike '*runtimes*'
    }

    It 'keeps its own Npgsql and SqlClient when a session loaded older ones first (as dbatools or SqlServer do)' -Skip:(
        -not $env:PARTITIONOPS_TEST_POSTGRES) {
        # tests/PartitionOps.IntegrationTests downloads Npgsql 9.0.3 and SqlClient 5.2.2 for this test.
        $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES }
                 else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
        $olderNpgsql = Join-Path $cache 'npgsql/9.0.3/lib/net8.0/Npgsql.dll'
        $olderSqlClient = Join-Path $cache 'microsoft.data.sqlclient/5.2.2/runtimes/unix/lib/net8.0/Microsoft.Data.SqlClient.dll'
        if ($IsWindows) { $olderSqlClient = $olderSqlClient -replace '/unix/', '/win/' }
        $olderNpgsql, $olderSqlClient | ForEach-Object { $_ | Should -Exist }

        $loaded = Invoke-ChildPwsh -Arguments $olderNpgsql, $olderSqlClient, $manifestPath, $env:PARTITIONOPS_TEST_POSTGRES -ScriptBlock {
            param([string] $Npgsql, [string] $SqlClient, [string] $Manifest, [string] $ConnectionString)
            $null = [Reflection.Assembly]::LoadFrom($Npgsql), [Reflection.Assembly]::LoadFrom($SqlClient)
            Import-Module $Manifest
            $pg = New-PartitionOpsConnection -ConnectionString $ConnectionString -Provider postgresql -Validate -EnableException
            $null = New-PartitionOpsConnection -SqlInstance sql01 -Database fhir -EnableException
            [pscustomobject]@{ Validated = [bool]$pg }
            $drivers = [AppDomain]::CurrentDomain.GetAssemblies() |
                Where-Object { $_.GetName().Name -in 'Npgsql', 'Microsoft.Data.SqlClient' }
            foreach ($a in $drivers) {
                [pscustomobject]@{
                    Name    = $a.GetName().Name
                    Major   = $a.GetName().Version.Major
                    Context = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name
                }
            }
        }
        $loaded[0].Validated | Should -BeTrue
        $assemblies = $loaded | Select-Object -Skip 1
        $summary = ($assemblies | Sort-Object Name, Context | ForEach-Object { "$($_.Name) $($_.Major) $($_.Context)" }) -join '; '
        $summary | Should -Be ('Microsoft.Data.SqlClient 5 Default; Microsoft.Data.SqlClient 6 PartitionOps; ' +
            'Npgsql 9 Default; Npgsql 10 PartitionOps')
    }

    It 'can be removed and imported again' {
        Remove-Module PartitionOps
        { Import-Module $manifestPath -Force -ErrorAction Stop } | Should -Not -Throw
        New-PartitionOpsConnection -SqlInstance sql01 | Should -Not -BeNullOrEmpty
    }
}
