#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The help a DBA gets from Get-Help: for every cmdlet a synopsis, a description, every parameter described and at
# least two examples, one of them a pipeline; and about_PartitionOps, from the checkout and from the package.
# The MAML is built from module/docs by the build (build/MamlHelpTask.cs); these tests only ask Get-Help.

BeforeDiscovery {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $cmdletNames = (Import-PowerShellDataFile (Join-Path $repoRoot 'PartitionOps.psd1')).CmdletsToExport |
        ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    . (Join-Path $PSScriptRoot 'Backfill.TestSupport.ps1')
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Get-Help <Name>' -ForEach $cmdletNames {
    BeforeAll {
        $help = Get-Help $Name -Full
        $command = Get-Command $Name -Module PartitionOps
    }

    It 'has a synopsis of its own (not the generated syntax)' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$Name *"
        $help.Synopsis | Should -Not -Match '\[-'
    }

    It 'has a description' {
        ($help.description.Text -join ' ').Length | Should -BeGreaterThan 80
    }

    It 'describes every parameter' {
        $undocumented = foreach ($parameter in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $text = ($help.parameters.parameter | Where-Object name -eq $parameter).description.Text -join ' '
            if (-not $text) { $parameter }
        }
        $undocumented | Should -BeNullOrEmpty -Because 'each parameter needs a description in module/docs'
    }

    It 'documents no parameter the cmdlet does not have' {
        $help.parameters.parameter.name | Where-Object { $_ -notin $command.Parameters.Keys } | Should -BeNullOrEmpty
    }

    It 'has at least two examples, one of them a pipeline' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        @($examples | Where-Object { $_.code -match '\|' }).Count | Should -BeGreaterOrEqual 1
        $examples | ForEach-Object { $_.code | Should -Match $Name }
    }

    It 'shows examples and a parameter as text, the way a DBA reads them' {
        $text = Get-Help $Name -Examples | Out-String -Width 120
        $text | Should -Match 'Example 1'
        Get-Help $Name -Parameter Connection, EnableException | Out-String | Should -Match 'New-PartitionOpsConnection|terminating'
        $text | Should -Match ([regex]::Escape($help.Synopsis.Substring(0, [Math]::Min(30, $help.Synopsis.Length))))
    }
}

Describe 'about_PartitionOps' {
    It 'is found from the checkout' {
        $about = Get-Help about_PartitionOps | Out-String
        $about | Should -Match 'about_PartitionOps'
        $about | Should -Match 'New-PartitionOpsConnection'
    }

    It 'and cmdlet help are found in the package that build.ps1 -Task Package makes, in a new session' {
        $out = Join-Path ([IO.Path]::GetTempPath()) ('po-package-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        try {
            $buildScript = Join-Path $repoRoot 'build.ps1'
            $build = & (Get-PwshPath) -NoProfile -NonInteractive -File $buildScript -Task Package -NoBuild -OutputPath $out 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($build -join "`n")
            $found = Invoke-ChildPwsh -Arguments (Join-Path $out 'PartitionOps') -ScriptBlock {
                param([string] $Package)
                # As after Install-Module or an Azure Automation import: by name, from PSModulePath.
                $env:PSModulePath = (Split-Path $Package) + [IO.Path]::PathSeparator + $env:PSModulePath
                Import-Module PartitionOps -ErrorAction Stop
                [pscustomobject]@{
                    ModuleBase = (Get-Module PartitionOps).ModuleBase
                    About      = (Get-Help about_PartitionOps | Out-String)
                    Synopsis   = (Get-Help Start-PartitionBackfill).Synopsis
                    Examples   = @((Get-Help Get-BackfillProgress).examples.example).Count
                }
            }
            $found.ModuleBase | Should -Be (Join-Path $out 'PartitionOps')
            $found.About | Should -Match 'about_PartitionOps'
            $found.Synopsis | Should -Be (Get-Help Start-PartitionBackfill).Synopsis
            $found.Examples | Should -BeGreaterOrEqual 2
        }
        finally {
            Remove-Item $out -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}
