#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Module-wide checks that need a real PowerShell: the manifest, the exported commands and the
# dependency isolation (engine and drivers in the module's own AssemblyLoadContext).

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $manifestPath = Join-Path $repoRoot 'PartitionOps.psd1'
    Import-Module $manifestPath -Force -ErrorAction Stop
    $manifest = Import-PowerShellDataFile $manifestPath
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
        $sqlClient = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Microsoft.Data.SqlClient' -and $_.Location -like '*dependencies*' }
        $sqlClient | Should -Not -BeNullOrEmpty
        $sqlClient[0].Location | Should -BeLike '*runtimes*'
    }

    It 'can be removed and imported again' {
        Remove-Module PartitionOps
        { Import-Module $manifestPath -Force -ErrorAction Stop } | Should -Not -Throw
        New-PartitionOpsConnection -SqlInstance sql01 | Should -Not -BeNullOrEmpty
    }
}
