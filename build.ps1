#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and demonstrates PartitionOps.

.DESCRIPTION
    Build    dotnet build of the solution; the cmdlet project lays the module out in module/bin
             (cmdlets) and module/bin/dependencies (engine and drivers), so that afterwards
             Import-Module ./PartitionOps.psd1 works from the checkout.
    Test     dotnet test PartitionOps.sln: the xunit suites, and the Pester suites (tests/Pester and
             module/Validation) in the pwsh and Pester that the repository pins (nothing to install).
    Package  artifacts/PartitionOps/ (PowerShell Gallery layout: folder, manifest and module names
             match) and artifacts/PartitionOps.zip (Azure Automation import: the zip holds the
             PartitionOps folder), with the MAML help the build makes from module/docs.
    Demo     dotnet run --project src/PartitionOps.Cli -- demo (a throwaway local PostgreSQL).

.EXAMPLE
    ./build.ps1
.EXAMPLE
    ./build.ps1 -Task Build, Test
.EXAMPLE
    ./build.ps1 -Task Package -IncludeOracleClient
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Where Package writes the module folder and the zip.
    [string] $OutputPath = (Join-Path $PSScriptRoot 'artifacts'),

    # Package: copy Oracle.ManagedDataAccess (ODP.NET Core) into the module's lib/ folder.
    [switch] $IncludeOracleClient,

    # Package: an explicit Oracle.ManagedDataAccess.dll; otherwise module/lib, then the NuGet cache.
    [string] $OracleClientPath,

    # Package: package the module/bin of an earlier build instead of cleaning and building again.
    [switch] $NoBuild,

    # Demo: extra arguments for `partitionops demo`, e.g. -DemoArguments '--rows', '100000'.
    [string[]] $DemoArguments = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$ModuleName = 'PartitionOps'
$Root = $PSScriptRoot
$Solution = Join-Path $Root 'PartitionOps.sln'
$ModuleSource = Join-Path $Root 'module'
# Azure Automation refuses modules with longer paths inside the zip.
$MaxPackagePathLength = 140

# Takes one array (not remaining arguments) so that '-c' and '--' reach dotnet untouched.
function Invoke-Dotnet {
    param([string[]] $Arguments)
    Write-Host "dotnet $($Arguments -join ' ')" -ForegroundColor Cyan
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE" }
}

function Invoke-BuildTask {
    Invoke-Dotnet @('build', $Solution, '-c', $Configuration, '--nologo')
    $cmdlets = Join-Path $ModuleSource 'bin/PartitionOps.PowerShell.dll'
    if (-not (Test-Path $cmdlets)) { throw "The build did not produce $cmdlets" }
}

function Invoke-TestTask {
    # The same single command README and CI run: the xunit suites, and through
    # tests/PartitionOps.IntegrationTests (PowerShell/PesterSuiteTests) the Pester suites in a pinned pwsh
    # (.config/dotnet-tools.json) with Pester 5.7.1 from NuGet.
    Invoke-Dotnet @('test', $Solution, '-c', $Configuration, '--nologo')
}

# This session's own pwsh, for child sessions. Not (Get-Process -Id $PID).Path: under the dotnet tool
# (dotnet pwsh) that is the dotnet host, which cannot take pwsh's arguments.
function Get-PwshPath {
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    if (-not (Test-Path $pwsh)) { throw "No pwsh in `$PSHOME ($PSHOME)" }
    $pwsh
}

function Find-OracleClient {
    if ($OracleClientPath) {
        if (-not (Test-Path $OracleClientPath -PathType Leaf)) { throw "-OracleClientPath '$OracleClientPath' does not exist" }
        return (Resolve-Path $OracleClientPath).Path
    }
    $local = Join-Path $ModuleSource 'lib/Oracle.ManagedDataAccess.dll'
    if (Test-Path $local) { return $local }
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES }
             else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $candidates = foreach ($package in 'oracle.manageddataaccess.core') {
        $packageRoot = Join-Path $cache $package
        if (-not (Test-Path $packageRoot)) { continue }
        foreach ($versionDir in Get-ChildItem $packageRoot -Directory) {
            foreach ($tfm in 'net8.0', 'net6.0', 'netstandard2.1') {
                $dll = Join-Path $versionDir.FullName "lib/$tfm/Oracle.ManagedDataAccess.dll"
                if (Test-Path $dll) {
                    $parsed = $null
                    $version = if ([version]::TryParse(($versionDir.Name -replace '-.*$', ''), [ref]$parsed)) { $parsed }
                               else { [version]'0.0' }
                    [pscustomobject]@{ Path = $dll; Version = $version }
                    break
                }
            }
        }
    }
    $best = $candidates | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $best) {
        throw ("Oracle.ManagedDataAccess was not found in the NuGet cache ($cache). Restore it once " +
            "(e.g. dotnet add <any project> package Oracle.ManagedDataAccess.Core) or pass -OracleClientPath.")
    }
    return $best.Path
}

function Invoke-PackageTask {
    # Start from an empty module/bin so no file of an earlier build or configuration is shipped
    # (-NoBuild packages what module/bin holds, e.g. for the Pester test of the package).
    if (-not $NoBuild) {
        $moduleBin = Join-Path $ModuleSource 'bin'
        if (Test-Path $moduleBin) { Remove-Item $moduleBin -Recurse -Force }
        Invoke-BuildTask
    }

    $manifestSource = Join-Path $Root "$ModuleName.psd1"
    $version = (Import-PowerShellDataFile $manifestSource).ModuleVersion
    $staging = Join-Path $OutputPath $ModuleName
    $zip = Join-Path $OutputPath "$ModuleName.zip"
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    if (Test-Path $zip) { Remove-Item $zip -Force }
    New-Item -ItemType Directory -Path $staging -Force | Out-Null

    # The package has module/'s content at its root (bin/, the ps1xml files, Runbooks/, Validation/), so the
    # manifest's module/ prefixes go; markdown docs become MAML help instead.
    # lib/ (a local Oracle driver) ships only with -IncludeOracleClient.
    Get-ChildItem $ModuleSource -Force | Where-Object { $_.Name -notin 'docs', 'lib', '.gitignore' } |
        Copy-Item -Destination $staging -Recurse -Force
    $manifest = (Get-Content $manifestSource -Raw) -replace "'module/", "'"
    Set-Content -Path (Join-Path $staging "$ModuleName.psd1") -Value $manifest -Encoding utf8NoBOM

    # Help: about_PartitionOps and the cmdlets' MAML, which the build makes from module/docs (build/MamlHelpTask.cs).
    # Get-Help looks in <module base>/en-US; bin/en-US already holds a copy next to the assembly.
    $helpSource = Join-Path $Root 'en-US'
    if (-not (Test-Path (Join-Path $helpSource 'PartitionOps.PowerShell.dll-Help.xml'))) {
        throw "The build did not produce the MAML help in $helpSource"
    }
    Copy-Item $helpSource -Destination $staging -Recurse -Force

    if ($IncludeOracleClient) {
        $oracle = Find-OracleClient
        $lib = Join-Path $staging 'lib'
        New-Item -ItemType Directory -Path $lib -Force | Out-Null
        Copy-Item $oracle -Destination $lib -Force
        Write-Host "Included $oracle in lib/"
    }

    # Build outputs nobody needs at run time.
    Get-ChildItem $staging -Recurse -Include '*.deps.json' | Remove-Item -Force

    $tooLong = Get-ChildItem $staging -Recurse -File | ForEach-Object {
        $relative = "$ModuleName/" + [IO.Path]::GetRelativePath($staging, $_.FullName).Replace('\', '/')
        if ($relative.Length -ge $MaxPackagePathLength) { $relative }
    }
    if ($tooLong) { throw "Paths of $MaxPackagePathLength characters or more break Azure Automation imports:`n$($tooLong -join "`n")" }

    $check = Test-ModuleManifest -Path (Join-Path $staging "$ModuleName.psd1") -ErrorAction Stop
    if ($check.Version.ToString() -ne $version) { throw "Packaged manifest version $($check.Version) is not $version" }

    # The package must import in a new session, with its help, as the Gallery and Azure Automation will do it.
    $probe = "Import-Module '$staging' -ErrorAction Stop; if (-not (Get-Help Start-PartitionBackfill).Synopsis) { throw 'no help' }; " +
        "if (-not (Get-Help about_PartitionOps)) { throw 'no about_PartitionOps' }"
    & (Get-PwshPath) -NoProfile -NonInteractive -Command $probe
    if ($LASTEXITCODE -ne 0) { throw "The packaged module does not import with its help in a new pwsh: $staging" }

    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [IO.Compression.ZipFile]::CreateFromDirectory($staging, $zip, [IO.Compression.CompressionLevel]::Optimal, $true)
    Write-Host "Module folder: $staging (version $version)"
    Write-Host "Azure Automation zip: $zip"
    Write-Host "Publish to the Gallery with: Publish-PSResource -Path '$staging' -ApiKey <key>"
}

function Invoke-DemoTask {
    Invoke-Dotnet (@('run', '--project', (Join-Path $Root 'src/PartitionOps.Cli'), '-c', $Configuration, '--', 'demo') + $DemoArguments)
}

foreach ($step in $Task) {
    Write-Host "== $step ==" -ForegroundColor Green
    switch ($step) {
        'Build' { Invoke-BuildTask }
        'Test' { Invoke-TestTask }
        'Package' { Invoke-PackageTask }
        'Demo' { Invoke-DemoTask }
    }
}
