# Shared by the backfill Pester tests (dot-sourced; not a test file itself).
# Live tests run against PARTITIONOPS_TEST_POSTGRES (an Npgsql connection string) in a schema of their own,
# filled with the FHIR-like sample of the demo assembly (PartitionOps.Demo.FhirSample). The engine and Npgsql
# live in the module's own load context, so they are reached through reflection, not type literals.

function Get-PartitionOpsDependency {
    param([Parameter(Mandatory)] [string] $Name)
    # Any connection cmdlet call makes the module load its dependencies.
    if (-not ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $Name })) {
        $null = New-PartitionOpsConnection -SqlInstance localhost -Provider postgresql
    }
    [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $Name } | Select-Object -First 1
}

function Get-PartitionOpsDemo {
    <# The demo assembly (FhirSample), which the module does not ship, loaded into the module's load context so that it
       uses the module's engine and Npgsql. PARTITIONOPS_TEST_DEMO_ASSEMBLY names it (the xunit fixture sets it);
       else the newest build under src/PartitionOps.Demo/bin. #>
    $loaded = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PartitionOps.Demo' } |
        Select-Object -First 1
    if ($loaded) { return $loaded }
    $path = $env:PARTITIONOPS_TEST_DEMO_ASSEMBLY
    if (-not $path) {
        $bin = Join-Path $PSScriptRoot '../../src/PartitionOps.Demo/bin'
        $path = Get-ChildItem $bin -Recurse -Filter 'PartitionOps.Demo.dll' -ErrorAction SilentlyContinue |
            Sort-Object LastWriteTimeUtc -Descending | Select-Object -First 1 -ExpandProperty FullName
    }
    if (-not $path -or -not (Test-Path $path)) {
        throw 'PartitionOps.Demo.dll not found: build src/PartitionOps.Demo or set PARTITIONOPS_TEST_DEMO_ASSEMBLY to its path'
    }
    $engine = Get-PartitionOpsDependency -Name 'PartitionOps.Engine'
    [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).LoadFromAssemblyPath((Resolve-Path $path).Path)
}

function Invoke-BackfillTestSql {
    param([Parameter(Mandatory)] [string] $ConnectionString, [Parameter(Mandatory)] [string] $Sql)
    $npgsql = Get-PartitionOpsDependency -Name 'Npgsql'
    $connection = [Activator]::CreateInstance($npgsql.GetType('Npgsql.NpgsqlConnection', $true), [object[]]@($ConnectionString))
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Sql
        $command.ExecuteScalar()
    }
    finally {
        $connection.Dispose()
    }
}

function New-BackfillTestSchema {
    <# Creates a small partitioned FHIR-like Resource table in a new schema; returns the schema name. #>
    param([Parameter(Mandatory)] [string] $ConnectionString, [long] $Rows = 3000, [int] $TypeCount = 12, [string] $Schema)
    $demo = Get-PartitionOpsDemo
    $schema = if ($Schema) { $Schema } else { 'po_pester_' + [guid]::NewGuid().ToString('N').Substring(0, 10) }
    $optionsType = $demo.GetType('PartitionOps.Demo.FhirSampleOptions', $true)
    $options = [Activator]::CreateInstance($optionsType)
    $optionsType.GetProperty('Rows').SetValue($options, [long]$Rows)
    $optionsType.GetProperty('TypeCount').SetValue($options, [int]$TypeCount)
    $optionsType.GetProperty('Schema').SetValue($options, $schema)
    $optionsType.GetProperty('PayloadBytes').SetValue($options, 20)
    $create = $demo.GetType('PartitionOps.Demo.FhirSample', $true).GetMethod('CreateAsync')
    # $null =: a Task's GetResult() writes nothing, but an uncaptured call still adds to the function's output.
    $arguments = [object[]]@($ConnectionString, $options, $null, [System.Threading.CancellationToken]::None)
    $null = $create.Invoke($null, $arguments).GetAwaiter().GetResult()
    $schema
}

function Remove-BackfillTestSchema {
    param([Parameter(Mandatory)] [string] $ConnectionString, [Parameter(Mandatory)] [string] $Schema)
    $drop = "DROP SCHEMA IF EXISTS `"$Schema`" CASCADE; DROP SCHEMA IF EXISTS `"${Schema}_ctl`" CASCADE"
    $null = Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql $drop
}

function Get-ShouldProcessContract {
    <# SupportsShouldProcess and ConfirmImpact as declared by the cmdlet class. #>
    param([Parameter(Mandatory)] [System.Management.Automation.CommandInfo] $Command)
    $attribute = $Command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $true) |
        Select-Object -First 1
    [pscustomobject]@{ SupportsShouldProcess = $attribute.SupportsShouldProcess; ConfirmImpact = $attribute.ConfirmImpact }
}

function New-BackfillTestDatabase {
    <# Creates an empty database on the test server; returns its connection string. #>
    param([Parameter(Mandatory)] [string] $ConnectionString)
    $name = 'po_pester_' + [guid]::NewGuid().ToString('N').Substring(0, 10)
    $null = Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql "CREATE DATABASE `"$name`""
    # The last Database= wins in an ADO.NET connection string.
    "$ConnectionString;Database=$name"
}

function Remove-BackfillTestDatabase {
    param([Parameter(Mandatory)] [string] $ConnectionString, [Parameter(Mandatory)] [string] $DatabaseConnectionString)
    $setting = $DatabaseConnectionString -split ';' | Where-Object { $_ -like 'Database=*' } | Select-Object -Last 1
    $name = $setting -replace '^Database=', ''
    $null = Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql "DROP DATABASE IF EXISTS `"$name`" WITH (FORCE)"
}

function Get-PwshPath {
    <# This session's own pwsh: under the dotnet tool, (Get-Process -Id $PID).Path is the dotnet host. #>
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    if (-not (Test-Path $pwsh)) { throw "No pwsh in `$PSHOME ($PSHOME)" }
    $pwsh
}

function Invoke-ChildPwsh {
    <#
        Runs a script block in a new pwsh (a clean session: no PartitionOps, no Pester loaded) and returns what it
        outputs, deserialized. -Arguments reach it as $args, through CliXml so that hashtables stay hashtables.
    #>
    param([Parameter(Mandatory)] [scriptblock] $ScriptBlock, [object[]] $Arguments = @())
    $in = New-TemporaryFile
    $out = New-TemporaryFile
    try {
        Export-Clixml -InputObject $Arguments -Path $in.FullName -Depth 5
        $wrapper = @"
`$ErrorActionPreference = 'Stop'
`$arguments = [object[]](Import-Clixml -Path '$($in.FullName)')
`$result = & { $ScriptBlock } @arguments
Export-Clixml -InputObject @(`$result) -Path '$($out.FullName)' -Depth 5
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($wrapper))
        $console = & (Get-PwshPath) -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1
        if ($LASTEXITCODE -ne 0) { throw "The child pwsh exited with $LASTEXITCODE`n$($console -join "`n")" }
        Import-Clixml -Path $out.FullName
    }
    finally {
        Remove-Item $in.FullName, $out.FullName -ErrorAction SilentlyContinue
    }
}
