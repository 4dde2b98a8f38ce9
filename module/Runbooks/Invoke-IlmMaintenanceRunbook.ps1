<#
.SYNOPSIS
    Azure Automation runbook: ILM moves and merges (spec/ilm-partition-merge.md) for a list of tables, time-boxed
    under Azure Automation's 3-hour limit; whatever is left runs on the next schedule.

.DESCRIPTION
    Runs Invoke-IlmMaintenance over the tables: interrupted merges are reconciled, partitions that reached WARM or
    COLD move to their tier, due monthly partitions merge into their yearly partition, failed merges are retried
    (MERGE_RETRY_FAILED), and every merge is audited in dwh_ilm_partition_merges.

    Azure Automation stops a cloud job after three hours (fair share) and starts it again from the top. This runbook
    gives Invoke-IlmMaintenance -MaxDuration (default 02:30:00): no table and no action starts after that, and the
    action running then finishes (a single merge can take minutes on a large partition, hence the 30 minutes of
    room; Test-IlmHealth alerts on merges over 5 minutes). Actions not started are listed as NOT_STARTED and the
    next scheduled job does them: state lives in the database, so nothing is lost when a job ends or is killed.

    Sign-in without secrets in the script; the default follows -Provider:
      - Credential (the default for oracle, the default provider): a credential asset of the Automation account
        (Get-AutomationPSCredential -Name $CredentialName) with the Oracle user and password. PartitionOps signs in
        to Oracle with a user and password only; it takes no Entra ID token for Oracle, so there is no token
        resource to default to, and -Authentication AccessToken with -Provider oracle is refused.
      - AccessToken (the default for postgresql): the Automation account's managed identity (Connect-AzAccount
        -Identity, Az.Accounts) gets an Entra ID token for Azure Database for PostgreSQL
        (-TokenResourceUrl, default https://ossrdbms-aad.database.windows.net) and signs in as -DatabaseUser.

    Job output: the ILM config, one row per action with its status (SUCCESS, FAILED, NOT_STARTED), verbose steps as
    output lines, and Test-IlmHealth per table. On failure the job fails: the runbook throws inside Azure Automation
    (the job's status becomes Failed) and exits with code 1 elsewhere (Hybrid Runbook Worker, a local shell, CI).

    Setup (once):
      1. Import PartitionOps into the Automation account (runtime environment PowerShell 7.4); for Oracle put
         Oracle.ManagedDataAccess.dll in the module's lib folder (./build.ps1 -Task Package -IncludeOracleClient);
         for -Authentication AccessToken also Az.Accounts.
      2. Oracle: create a credential asset with a database user that may ALTER the tables and create the control
         tables in its schema (or create them once as the owner). PostgreSQL: enable the account's managed identity
         and make it a database role (pgaadauth_create_principal) that owns the tables, with CREATE on the control
         schema (or create the control tables once as the owner).
      3. Link a schedule, e.g. nightly, or every 3 hours while a backlog of merges is worked off.

.PARAMETER Table
    Comma-separated tables, e.g. 'SALES_PART,ORDERS_PART'. Each may be schema-qualified: 'CMR.SALES_PART'.

.PARAMETER SqlInstance
    The server: host[:port] (PostgreSQL) or host[:port]/service (Oracle). Ignored when -ConnectionString is given.

.PARAMETER Database
    The database (PostgreSQL).

.PARAMETER ConnectionString
    A full connection string instead of -SqlInstance/-Database. With -CredentialName or -Authentication AccessToken
    it holds no password (the credential or token adds it); alone it carries its own sign-in (-Authentication
    ConnectionString: a Hybrid Runbook Worker with local credentials, no Azure sign-in).

.PARAMETER Provider
    oracle (default) or postgresql.

.PARAMETER Authentication
    Credential (an Automation credential asset), AccessToken (managed identity) or ConnectionString (the connection
    string's own sign-in). Default: ConnectionString when -ConnectionString is given without -CredentialName, else
    Credential for oracle (the only sign-in PartitionOps has for Oracle) and AccessToken for postgresql.

.PARAMETER TokenResourceUrl
    -Authentication AccessToken (postgresql): the Entra ID resource to get the token for; default
    https://ossrdbms-aad.database.windows.net (Azure Database for PostgreSQL).

.PARAMETER ManagedIdentityClientId
    Client id of a user-assigned managed identity; empty for the system-assigned one.

.PARAMETER DatabaseUser
    The database user the token signs in as (PostgreSQL: the managed identity's role name).

.PARAMETER CredentialName
    -Authentication Credential: the name of the Automation credential asset.

.PARAMETER MaxDuration
    Time box, hh:mm:ss. No action starts after it; keep room under 3 hours for the last action and the report.

.PARAMETER MaxMerges
    Partitions merged at most in this job, all tables together; 0 keeps MAX_MERGES_PER_RUN of dwh_ilm_config.

.PARAMETER LockTimeoutSeconds
    Lock timeout of each move and merge; 0 keeps MERGE_LOCK_TIMEOUT of dwh_ilm_config.

.PARAMETER PolicyPath
    A tier_config policy file available to the job (e.g. downloaded from a storage account); empty: the spec's tiers.

.PARAMETER ControlSchema
    Schema of the ILM control tables; empty: partitionops (PostgreSQL), the connected user (Oracle).

.EXAMPLE
    Start-AzAutomationRunbook -AutomationAccountName aa-dba -ResourceGroupName rg-dba -Name Invoke-IlmMaintenanceRunbook `
        -Parameters @{ Table = 'sales,orders'; SqlInstance = 'pg-dwh.postgres.database.azure.com'; Database = 'dwh'; Provider = 'postgresql'
                       DatabaseUser = 'aa-dba' }

.EXAMPLE
    ./Invoke-IlmMaintenanceRunbook.ps1 -Table SALES_PART -ConnectionString 'Data Source=ora01/DWH' -CredentialName ilm -MaxDuration 00:20:00
    Oracle (the default provider) with the credential asset ilm (the default sign-in for Oracle), on a Hybrid Runbook
    Worker (exit code 0 when done or time-boxed, 1 on failure).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $Table,
    [string] $SqlInstance,
    [string] $Database,
    [string] $ConnectionString,
    [ValidateSet('oracle', 'postgresql')]
    [string] $Provider = 'oracle',
    # Empty: ConnectionString when -ConnectionString is given without -CredentialName, else Credential for oracle and
    # AccessToken for postgresql (see below).
    [ValidateSet('AccessToken', 'Credential', 'ConnectionString')]
    [string] $Authentication,
    # Empty: Azure Database for PostgreSQL's resource when signing in with a token.
    [string] $TokenResourceUrl,
    [string] $ManagedIdentityClientId,
    [string] $DatabaseUser,
    [string] $CredentialName,
    # A string: Automation passes parameters from schedules and the portal as text.
    [string] $MaxDuration = '02:30:00',
    [int] $MaxMerges = 0,
    [int] $LockTimeoutSeconds = 0,
    [string] $PolicyPath,
    [string] $ControlSchema
)

$ErrorActionPreference = 'Stop'
# Automation does not show progress records (and writing them slows jobs down): results go to the output.
$ProgressPreference = 'SilentlyContinue'
$inAzureAutomation = [bool]$PSPrivateMetadata.JobId
$started = Get-Date

# Sign-in defaults follow the provider: PartitionOps signs in to Oracle with a user and password only (no Entra ID
# token), and to Azure Database for PostgreSQL with the managed identity's token for the ossrdbms resource.
# A connection string alone carries its own sign-in (a Hybrid Runbook Worker with local credentials): no Azure needed.
if (-not $Authentication) {
    $Authentication = if ($ConnectionString -and -not $CredentialName) { 'ConnectionString' }
                      elseif ($Provider -eq 'postgresql') { 'AccessToken' }
                      else { 'Credential' }
}
if (-not $TokenResourceUrl) { $TokenResourceUrl = 'https://ossrdbms-aad.database.windows.net' }

function Write-Section([string] $Title) { Write-Output ''; Write-Output "==== $Title ($(Get-Date -Format 'yyyy-MM-dd HH:mm:ss'))" }

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

function Write-Table($InputObject) { $InputObject | Format-Table -AutoSize | Out-String -Width 240 | Write-Output }

function Assert-AzureCommand([string] $Name, [string] $Why) {
    # Azure-only sign-in: say what is missing and what to use instead, before anything connects.
    if (-not (Get-Command $Name -ErrorAction SilentlyContinue)) { throw "$Name is not available here: $Why" }
}

function New-RunbookConnection {
    if ($Authentication -eq 'AccessToken' -and $Provider -eq 'oracle') {
        throw ('-Authentication AccessToken is not supported for Oracle: PartitionOps takes no Entra ID token for Oracle. ' +
            'Use -Authentication Credential (the default for oracle) with -CredentialName.')
    }
    $target = if ($ConnectionString) { @{ ConnectionString = $ConnectionString } }
    elseif ($SqlInstance) { $t = @{ SqlInstance = $SqlInstance }; if ($Database) { $t.Database = $Database }; $t }
    else { throw 'Give -ConnectionString, or -SqlInstance (and -Database for PostgreSQL).' }

    if ($Authentication -eq 'ConnectionString') {
        if (-not $ConnectionString) { throw '-Authentication ConnectionString needs -ConnectionString.' }
        return New-PartitionOpsConnection @target -Provider $Provider -EnableException
    }
    if ($Authentication -eq 'Credential') {
        if (-not $CredentialName) { throw '-Authentication Credential needs -CredentialName (an Automation credential asset).' }
        Assert-AzureCommand Get-AutomationPSCredential ('credential assets exist in Azure Automation and on Hybrid Runbook Workers only: ' +
            'elsewhere give a -ConnectionString that carries the sign-in.')
        $credential = Get-AutomationPSCredential -Name $CredentialName
        return New-PartitionOpsConnection @target -Provider $Provider -SqlCredential $credential -EnableException
    }
    Assert-AzureCommand Connect-AzAccount ('-Authentication AccessToken signs in with the managed identity through Az.Accounts: ' +
        'import Az.Accounts into the Automation account, or give a -ConnectionString that carries the sign-in.')
    $null = if ($ManagedIdentityClientId) { Connect-AzAccount -Identity -AccountId $ManagedIdentityClientId }
            else { Connect-AzAccount -Identity }
    $token = (Get-AzAccessToken -ResourceUrl $TokenResourceUrl -AsSecureString).Token
    $user = @{}
    if ($DatabaseUser) { $user.SqlCredential = [pscredential]::new($DatabaseUser, [securestring]::new()) }
    New-PartitionOpsConnection @target -Provider $Provider -AccessToken $token @user -EnableException
}

$failure = $null
try {
    Import-Module PartitionOps -ErrorAction Stop
    $connection = New-RunbookConnection
    $timeBox = [timespan]::Parse($MaxDuration, [cultureinfo]::InvariantCulture)
    if ($timeBox -ge [timespan]::FromHours(3)) { throw "-MaxDuration $MaxDuration is not under Azure Automation's 3-hour limit." }
    Write-Output ("PartitionOps ILM on $($connection.Provider) $($connection.Server)/$($connection.Database) " +
        "as $($connection.Authentication); time box $MaxDuration")

    $tables = @($Table -split ',' | ForEach-Object Trim | Where-Object { $_ } | ForEach-Object {
            $parts = $_ -split '\.', 2
            if ($parts.Count -eq 2) { [pscustomobject]@{ Schema = $parts[0]; Table = $parts[1] } }
            else { [pscustomobject]@{ Table = $parts[0] } }
        })
    if ($tables.Count -eq 0) { throw '-Table names no table.' }
    $common = @{}
    if ($ControlSchema) { $common.ControlSchema = $ControlSchema }
    $policy = @{}
    if ($PolicyPath) { $policy.Policy = $PolicyPath }

    Write-Section 'ILM config (dwh_ilm_config)'
    Write-Table ($connection | Get-IlmConfig @common -EnableException)

    Write-Section 'Run'
    # The time left after connecting; Invoke-IlmMaintenance spreads it (and -MaxMerges) over the tables.
    $run = @{ MaxDuration = $timeBox - ((Get-Date) - $started); Confirm = $false; Verbose = $true }
    if ($MaxMerges -gt 0) { $run.MaxMerges = $MaxMerges }
    if ($LockTimeoutSeconds -gt 0) { $run.LockTimeoutSeconds = $LockTimeoutSeconds }
    $results = [System.Collections.Generic.List[object]]::new()
    $errors = $null
    # Failed actions are non-terminating errors (one per table) so that every table runs; collected below.
    $maintenance = @{ Connection = $connection; ErrorAction = 'Continue'; ErrorVariable = 'errors' }
    $tables | Invoke-IlmMaintenance @maintenance @common @policy @run 4>&1 3>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.VerboseRecord]) { Write-VerboseLine $_.Message }
        elseif ($_ -is [System.Management.Automation.WarningRecord]) { Write-Output "  WARNING: $($_.Message)" }
        else { $results.Add($_) }
    }
    if ($results.Count -gt 0) {
        $source = @{ n = 'Source'; e = { $_.SourcePartition -join ',' } }
        Write-Table ($results | Select-Object Table, Action, $source, TargetPartition, Status, DurationSeconds, RowsMerged, Error)
    }
    else { Write-Output 'Nothing to do.' }
    $notStarted = @($results | Where-Object Status -eq 'NOT_STARTED').Count
    if ($notStarted -gt 0) { Write-Output "$notStarted action(s) not started within the time box: the next scheduled job does them." }

    Write-Section 'Health'
    foreach ($t in $tables) {
        $schema = @{}
        if ($t.Schema) { $schema.Schema = $t.Schema }
        $health = $connection | Test-IlmHealth -Table $t.Table @schema @common @policy -EnableException
        Write-Output "$($t.Table): Passed=$($health.Passed)"
        Write-Table ($health.Checks | Where-Object { -not $_.Passed })
    }

    $failed = @($results | Where-Object Status -eq 'FAILED')
    if ($errors -or $failed.Count -gt 0) {
        $messages = @($errors | ForEach-Object { $_.Exception.Message }) +
            @($failed | ForEach-Object { "$($_.Table) $($_.Reason): $($_.Error)" })
        $failure = "$($failed.Count) action(s) failed: $(($messages | Select-Object -Unique) -join ' | ')"
    }
}
catch {
    $failure = $_.Exception.Message
    Write-Output "ERROR: $failure"
}

if ($failure) {
    # Inside Azure Automation a thrown error marks the job Failed; elsewhere the exit code says it.
    if ($inAzureAutomation) { throw "ILM runbook failed: $failure" }
    Write-Error "ILM runbook failed: $failure" -ErrorAction Continue
    exit 1
}
Write-Output "ILM runbook finished in $([int]((Get-Date) - $started).TotalMinutes) minute(s)."
