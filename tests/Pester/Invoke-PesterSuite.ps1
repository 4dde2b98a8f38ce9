<#
.SYNOPSIS
    Runs every Pester suite in tests/Pester and writes one JSON result per test.

.DESCRIPTION
    Called by PesterSuiteTests in tests/PartitionOps.IntegrationTests (so `dotnet test PartitionOps.sln` runs it) in the pwsh that
    .config/dotnet-tools.json pins, with the Pester that the test project downloads. Runs by hand too:

        dotnet tool restore
        dotnet pwsh ./tests/Pester/Invoke-PesterSuite.ps1 -ConnectionString 'Host=...;Username=...;Database=...'

    -ConnectionString becomes PARTITIONOPS_TEST_POSTGRES, which the live contexts need: without it they fail
    here rather than being skipped, so a run that claims to be complete is complete.
    Exits 0 when every test passed, otherwise 1.
#>
[CmdletBinding()]
param(
    # Npgsql connection string of a database the suites may create schemas and databases in.
    [Parameter(Mandatory)]
    [string] $ConnectionString,

    # Pester.psd1 to import; by default Pester 5.7.1 from the NuGet cache (restored by the test project).
    [string] $PesterManifest,

    # Where to write the per-test JSON results; nothing is written without it.
    [string] $ResultPath,

    # Only these test files (names or paths); by default every *.Tests.ps1 in tests/Pester.
    [string[]] $Path
)

# No Set-StrictMode here: the test files run in this scope's children and are written without it.
$ErrorActionPreference = 'Stop'

if (-not $PesterManifest) {
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES }
             else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $PesterManifest = Join-Path $cache 'pester/5.7.1/tools/Pester.psd1'
}
if (-not (Test-Path $PesterManifest)) {
    throw "Pester was not found at '$PesterManifest': restore tests/PartitionOps.IntegrationTests (dotnet restore) first."
}
Import-Module $PesterManifest -Force
# Child pwsh processes (the validation suite, the load-order test) import the same Pester.
$env:PARTITIONOPS_PESTER_MANIFEST = (Resolve-Path $PesterManifest).Path
$env:PARTITIONOPS_TEST_POSTGRES = $ConnectionString

$files = if ($Path) {
    # pwsh -File passes "-Path a,b" as one string.
    foreach ($p in $Path -split ',') { if (Test-Path $p) { (Resolve-Path $p).Path } else { Join-Path $PSScriptRoot $p } }
}
else {
    (Get-ChildItem $PSScriptRoot -Filter '*.Tests.ps1' | Sort-Object Name).FullName
}

# The tests are written for PowerShell's default error handling, not this script's Stop.
$ErrorActionPreference = 'Continue'
$config = New-PesterConfiguration
$config.Run.Path = [string[]]$files
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
$result = Invoke-Pester -Configuration $config
if (-not $result) { throw 'Invoke-Pester returned no result' }

$rows = foreach ($test in $result.Tests) {
    [ordered]@{
        File    = [IO.Path]::GetFileName($test.ScriptBlock.File)
        Name    = $test.ExpandedPath
        Result  = $test.Result
        Message = if ($test.ErrorRecord) { ($test.ErrorRecord | ForEach-Object { $_.ToString() }) -join "`n" } else { $null }
    }
}
# A file that fails before its tests run (a syntax error, a failing BeforeAll outside a Describe) has no test rows.
$broken = foreach ($container in $result.Containers) {
    if ($container.Result -eq 'Failed' -and $container.ErrorRecord) {
        [ordered]@{
            File    = [IO.Path]::GetFileName([string]$container.Item)
            Name    = '(container)'
            Result  = 'Failed'
            Message = ($container.ErrorRecord | ForEach-Object { $_.ToString() }) -join "`n"
        }
    }
}
$all = @($rows) + @($broken)
if ($ResultPath) { ConvertTo-Json -InputObject $all -Depth 4 | Set-Content -Path $ResultPath -Encoding utf8NoBOM }

Write-Host ("Pester: {0} passed, {1} failed, {2} skipped, {3} not run" -f
    $result.PassedCount, $result.FailedCount, $result.SkippedCount, $result.NotRunCount)
exit ([int]($result.FailedCount -gt 0 -or $result.FailedContainersCount -gt 0 -or $result.FailedBlocksCount -gt 0))
