# Shared by the backfill Pester tests (dot-sourced; not a test file itself).
# Live tests run against PARTITIONOPS_TEST_POSTGRES (an Npgsql connection string) in a schema of their own,
# filled with the engine's FHIR-like sample (PartitionOps.Engine.Sample.FhirSample). The engine and Npgsql
# live in the module's own load context, so they are reached through reflection, not type literals.

function Get-PartitionOpsDependency {
    param([Parameter(Mandatory)] [string] $Name)
    # Any connection cmdlet call makes the module load its dependencies.
    if (-not ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $Name })) {
        $null = New-PartitionOpsConnection -SqlInstance localhost -Provider postgresql
    }
    [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $Name } | Select-Object -First 1
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
    param([Parameter(Mandatory)] [string] $ConnectionString, [long] $Rows = 3000, [int] $TypeCount = 12)
    $engine = Get-PartitionOpsDependency -Name 'PartitionOps.Engine'
    $schema = 'po_pester_' + [guid]::NewGuid().ToString('N').Substring(0, 10)
    $optionsType = $engine.GetType('PartitionOps.Engine.Sample.FhirSampleOptions', $true)
    $options = [Activator]::CreateInstance($optionsType)
    $optionsType.GetProperty('Rows').SetValue($options, [long]$Rows)
    $optionsType.GetProperty('TypeCount').SetValue($options, [int]$TypeCount)
    $optionsType.GetProperty('Schema').SetValue($options, $schema)
    $optionsType.GetProperty('PayloadBytes').SetValue($options, 20)
    $create = $engine.GetType('PartitionOps.Engine.Sample.FhirSample', $true).GetMethod('CreateAsync')
    # $null =: a Task's GetResult() writes nothing, but an uncaptured call still adds to the function's output.
    $null = $create.Invoke($null, [object[]]@($ConnectionString, $options, $null, [System.Threading.CancellationToken]::None)).GetAwaiter().GetResult()
    $schema
}

function Remove-BackfillTestSchema {
    param([Parameter(Mandatory)] [string] $ConnectionString, [Parameter(Mandatory)] [string] $Schema)
    $null = Invoke-BackfillTestSql -ConnectionString $ConnectionString -Sql "DROP SCHEMA IF EXISTS `"$Schema`" CASCADE; DROP SCHEMA IF EXISTS `"${Schema}_ctl`" CASCADE"
}

function Get-ShouldProcessContract {
    <# SupportsShouldProcess and ConfirmImpact as declared by the cmdlet class. #>
    param([Parameter(Mandatory)] [System.Management.Automation.CommandInfo] $Command)
    $attribute = $Command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $true) | Select-Object -First 1
    [pscustomobject]@{ SupportsShouldProcess = $attribute.SupportsShouldProcess; ConfirmImpact = $attribute.ConfirmImpact }
}
