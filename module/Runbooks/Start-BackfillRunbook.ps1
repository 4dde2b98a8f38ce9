<#
.SYNOPSIS
    Azure Automation runbook: runs the PartitionOps backfill for at most 2h45m per job and resumes on the next schedule.

.DESCRIPTION
    Azure Automation stops a cloud job after three hours (fair share) and starts it again from the top. This
    runbook stays under that limit with -MaxDuration (default 02:45:00): when the time is up the current batch
    commits, the run is paused in the database's control tables, and the job ends successfully. The next
    scheduled job resumes where it stopped. Once the run is done, the runbook checks integrity; further jobs
    find nothing left to do and only re-check.

    Sign-in without secrets: the Automation account's managed identity, either through the connection string
    (Authentication=Active Directory Managed Identity, done by SqlClient) or through an access token from
    Get-AzAccessToken (Az.Accounts) passed as -AccessToken.

    Job output: the progress per resource type before and after the run (a text bar per type), the phase
    steps as they happen (verbose records written as output lines), and the result. On failure the job fails:
    the runbook throws inside Azure Automation (the job's status becomes Failed) and exits with code 1
    elsewhere (Hybrid Runbook Worker scripts, a local shell, CI).

    Setup (once):
      1. Import the PartitionOps module into the Automation account (runtime environment PowerShell 7.4);
         for -Authentication AccessToken also Az.Accounts.
      2. Enable the account's system-assigned managed identity (or assign a user-assigned one and pass its
         client id as -ManagedIdentityClientId).
      3. In the database: CREATE USER [<automation account name>] FROM EXTERNAL PROVIDER; and grant it what
         Test-BackfillPrerequisite lists (ALTER on the table, CREATE TABLE / schema for the control tables).
      4. Link a schedule shorter than the job length allows, e.g. every 3 hours.

.PARAMETER SqlInstance
    The server, e.g. myserver.database.windows.net. Ignored when -ConnectionString is given.

.PARAMETER Database
    The database, e.g. fhir.

.PARAMETER ConnectionString
    A full connection string instead of -SqlInstance/-Database, e.g.
    'Server=tcp:myserver.database.windows.net;Database=fhir;Authentication=Active Directory Managed Identity'.

.PARAMETER Authentication
    ManagedIdentity (default): Authentication=Active Directory Managed Identity in the connection string.
    AccessToken: Connect-AzAccount -Identity, then Get-AzAccessToken for the database resource.

.PARAMETER ManagedIdentityClientId
    Client id of a user-assigned managed identity; empty for the system-assigned one.

.PARAMETER DatabaseUser
    PostgreSQL with -Authentication AccessToken: the database role of the managed identity (Azure Database for
    PostgreSQL takes the token as that role's password).

.PARAMETER Provider
    sqlserver (default) or postgresql.

.PARAMETER MaxDuration
    Time box of the run, hh:mm:ss; keep it under the 3-hour limit with room for connecting and reporting.

.PARAMETER ResourceType
    Comma-separated system types to work on; empty: all of the profile's system types.

.PARAMETER Parallel
    Resource types worked at once; 0 keeps the module's default.

.PARAMETER BatchSize
    First batch size; 0 keeps the module's default.

.PARAMETER DelayMilliseconds
    Pause between batches of a type, to leave the server room on a busy day; 0 keeps the module's default.

.PARAMETER BackfillProfile
    fhir (default) or the path of a profile file available to the job.

.EXAMPLE
    Start-AzAutomationRunbook -AutomationAccountName aa-dba -ResourceGroupName rg-dba -Name Start-BackfillRunbook `
        -Parameters @{ SqlInstance = 'myserver.database.windows.net'; Database = 'fhir' }

.EXAMPLE
    ./Start-BackfillRunbook.ps1 -ConnectionString $cs -Provider postgresql -MaxDuration 00:10:00
    Locally (exit code 0 when done or paused, 1 on failure).
#>
[CmdletBinding()]
param(
    [string] $SqlInstance,
    [string] $Database,
    [string] $ConnectionString,
    [ValidateSet('ManagedIdentity', 'AccessToken')]
    [string] $Authentication = 'ManagedIdentity',
    [string] $ManagedIdentityClientId,
    [string] $DatabaseUser,
    [ValidateSet('sqlserver', 'postgresql')]
    [string] $Provider = 'sqlserver',
    # A string: Automation passes parameters from schedules and the portal as text.
    [string] $MaxDuration = '02:45:00',
    [string] $ResourceType,
    [int] $Parallel = 0,
    [int] $BatchSize = 0,
    [int] $DelayMilliseconds = 0,
    [string] $BackfillProfile = 'fhir'
)

$ErrorActionPreference = 'Stop'
# Automation does not show progress records (and writing them slows jobs down): progress goes to the output.
$ProgressPreference = 'SilentlyContinue'
$inAzureAutomation = [bool]$PSPrivateMetadata.JobId

function Write-Section([string] $Title) { Write-Output ''; Write-Output "==== $Title ($(Get-Date -Format 'yyyy-MM-dd HH:mm:ss'))" }

function Write-BackfillProgressTable($Connection, [hashtable] $Scope) {
    $Connection | Get-BackfillProgress @Scope -EnableException | Format-Table -AutoSize | Out-String -Width 220 | Write-Output
}

function Write-VerboseLine([string] $Message) {
    # ShouldProcess writes the whole plan as one verbose record: the job keeps its summary, not the SQL
    # (the cmdlet's -WhatIf shows that).
    if ($Message -like 'Performing the operation *') {
        foreach ($line in $Message -split '\r?\n') {
            if ($line -match '^([\d,]+) SQL statements?') {
                Write-Output "  $($Matches[1]) SQL statement(s); -WhatIf on the cmdlet shows them"
                break
            }
            Write-Output "  $line"
        }
        return
    }
    Write-Output "  $Message"
}

function Assert-AzureCommand([string] $Name, [string] $Why) {
    # Azure-only sign-in: say what is missing and what to use instead, before anything connects.
    if (-not (Get-Command $Name -ErrorAction SilentlyContinue)) { throw "$Name is not available here: $Why" }
}

function New-RunbookConnection {
    if ($Authentication -eq 'AccessToken') {
        if (-not $SqlInstance) { throw '-Authentication AccessToken needs -SqlInstance and -Database.' }
        Assert-AzureCommand Connect-AzAccount ('-Authentication AccessToken signs in with the managed identity through Az.Accounts: ' +
            'import Az.Accounts into the Automation account, or use -Authentication ManagedIdentity or -ConnectionString.')
        $account = if ($ManagedIdentityClientId) { Connect-AzAccount -Identity -AccountId $ManagedIdentityClientId }
                   else { Connect-AzAccount -Identity }
        $null = $account
        $resource = if ($Provider -eq 'postgresql') { 'https://ossrdbms-aad.database.windows.net' } else { 'https://database.windows.net' }
        $token = (Get-AzAccessToken -ResourceUrl $resource -AsSecureString).Token
        $credential = @{}
        if ($Provider -eq 'postgresql') {
            if (-not $DatabaseUser) { throw 'PostgreSQL with an access token needs -DatabaseUser (the role of the managed identity).' }
            $credential.SqlCredential = [pscredential]::new($DatabaseUser, [securestring]::new())
        }
        $target = @{ SqlInstance = $SqlInstance; Database = $Database; Provider = $Provider }
        return New-PartitionOpsConnection @target -AccessToken $token @credential -EnableException
    }
    $cs = $ConnectionString
    if (-not $cs) {
        if (-not $SqlInstance -or -not $Database) { throw 'Give -ConnectionString, or -SqlInstance and -Database.' }
        if ($Provider -ne 'sqlserver') {
            throw 'Managed identity through the connection string is a SqlClient feature: use -Authentication AccessToken for PostgreSQL.'
        }
        $server = if ($SqlInstance -like 'tcp:*') { $SqlInstance } else { "tcp:$SqlInstance" }
        $cs = "Server=$server;Database=$Database;Authentication=Active Directory Managed Identity;Encrypt=True"
        if ($ManagedIdentityClientId) { $cs += ";User Id=$ManagedIdentityClientId" }
    }
    New-PartitionOpsConnection -ConnectionString $cs -Provider $Provider -EnableException
}

$failure = $null
try {
    Import-Module PartitionOps -ErrorAction Stop
    $connection = New-RunbookConnection
    Write-Output ("PartitionOps backfill on $($connection.Provider) $($connection.Server)/$($connection.Database) " +
        "as $($connection.Authentication); time box $MaxDuration")

    $scope = @{ Profile = $BackfillProfile }
    $types = @{}
    if ($ResourceType) { $types.ResourceType = @($ResourceType -split ',' | ForEach-Object Trim | Where-Object { $_ }) }
    $run = @{
        MaxDuration = [timespan]::Parse($MaxDuration, [cultureinfo]::InvariantCulture)
        Confirm = $false; EnableException = $true; Verbose = $true
    }
    if ($Parallel -gt 0) { $run.Parallel = $Parallel }
    if ($BatchSize -gt 0) { $run.BatchSize = $BatchSize }
    if ($DelayMilliseconds -gt 0) { $run.DelayMilliseconds = $DelayMilliseconds }

    Write-Section 'Progress before'
    Write-BackfillProgressTable $connection $scope

    Write-Section 'Run'
    $result = $null
    # Verbose records (phase steps, types finished, retries) become output lines as they happen.
    $connection | Start-PartitionBackfill @scope @types @run 4>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.VerboseRecord]) { Write-VerboseLine $_.Message } else { $result = $_ }
    }
    $result | Format-Table -AutoSize | Out-String -Width 220 | Write-Output

    Write-Section 'Progress after'
    Write-BackfillProgressTable $connection $scope

    switch ($result.Status) {
        'done' {
            Write-Section 'Integrity'
            $integrity = $connection | Test-BackfillIntegrity @scope @types -EnableException
            $integrity | Format-Table -AutoSize | Out-String -Width 220 | Write-Output
            if (-not $integrity.Passed) {
                $failure = "integrity check failed: $($integrity.MisplacedSystemRows) system rows and " +
                    "$($integrity.MisplacedUserRows) other rows are misplaced"
            }
        }
        'paused' { Write-Output "Paused ($($result.StopReason)): the next scheduled job resumes the run." }
        default { $failure = "the run ended with status $($result.Status)" }
    }
}
catch {
    $failure = $_.Exception.Message
    Write-Output "ERROR: $failure"
}

if ($failure) {
    # Inside Azure Automation a thrown error marks the job Failed; elsewhere the exit code says it.
    if ($inAzureAutomation) { throw "Backfill runbook failed: $failure" }
    Write-Error "Backfill runbook failed: $failure" -ErrorAction Continue
    exit 1
}
Write-Output 'Backfill runbook finished.'
