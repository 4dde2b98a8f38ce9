#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 tests of New-PartitionOpsConnection: the parameter contract users and runbooks rely on.
# Run with ./build.ps1 -Task Test (after a build), or Invoke-Pester ./tests/Pester.
# Set PARTITIONOPS_TEST_POSTGRES to an Npgsql connection string to include the live checks.

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $repoRoot 'PartitionOps.psd1') -Force -ErrorAction Stop
    $command = Get-Command New-PartitionOpsConnection -Module PartitionOps
    $fqidSuffix = 'PartitionOps.PowerShell.Cmdlets.NewPartitionOpsConnectionCommand'
}

Describe 'New-PartitionOpsConnection' {
    Context 'Parameter contract' {
        It 'has the SqlInstance (default) and ConnectionString parameter sets' {
            $command.DefaultParameterSet | Should -Be 'SqlInstance'
            ($command.ParameterSets.Name | Sort-Object) -join ',' | Should -Be 'ConnectionString,SqlInstance'
        }

        It 'has -<Name> of type <Type>' -ForEach @(
            @{ Name = 'SqlInstance'; Type = [string] }
            @{ Name = 'Database'; Type = [string] }
            @{ Name = 'ConnectionString'; Type = [string] }
            @{ Name = 'Provider'; Type = [string] }
            @{ Name = 'SqlCredential'; Type = [pscredential] }
            @{ Name = 'AccessToken'; Type = [securestring] }
            @{ Name = 'EnableException'; Type = [switch] }
            @{ Name = 'Validate'; Type = [switch] }
        ) {
            $command.Parameters[$Name].ParameterType | Should -Be $Type
        }

        It '-SqlInstance is mandatory, positional and aliased ServerInstance' {
            $set = $command.Parameters['SqlInstance'].ParameterSets['SqlInstance']
            $set.IsMandatory | Should -BeTrue
            $set.Position | Should -Be 0
            $command.Parameters['SqlInstance'].Aliases | Should -Contain 'ServerInstance'
        }

        It '-ConnectionString is mandatory in its set' {
            $command.Parameters['ConnectionString'].ParameterSets['ConnectionString'].IsMandatory | Should -BeTrue
        }

        It '-Provider accepts sqlserver, oracle and postgresql only' {
            $validateSet = $command.Parameters['Provider'].Attributes |
                Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            ($validateSet.ValidValues | Sort-Object) -join ',' | Should -Be 'oracle,postgresql,sqlserver'
        }

        It 'declares PartitionOpsConnection as its output type' {
            $command.OutputType.Name | Should -Contain 'PartitionOps.PowerShell.Connection.PartitionOpsConnection'
        }

        It 'does not offer -WhatIf: it only builds an object' {
            $command.Parameters.ContainsKey('WhatIf') | Should -BeFalse
        }

        It 'every exported cmdlet with -Connection binds it by property name from the pipeline' {
            $withConnection = Get-Command -Module PartitionOps | Where-Object { $_.Parameters -and $_.Parameters.ContainsKey('Connection') }
            foreach ($cmd in $withConnection) {
                $cmd.Parameters['Connection'].ParameterSets.Values.ValueFromPipelineByPropertyName |
                    Should -Contain $true -Because $cmd.Name
            }
        }
    }

    Context 'Building connections' {
        It 'maps -SqlInstance and -Database to SQL Server with integrated security' {
            $c = New-PartitionOpsConnection -SqlInstance sql01 -Database fhir
            $c.Provider | Should -Be 'sqlserver'
            $c.Server | Should -Be 'sql01'
            $c.Database | Should -Be 'fhir'
            $c.Authentication | Should -Be 'Integrated'
        }

        It 'maps host:port to PostgreSQL host and port' {
            $cred = [pscredential]::new('po', (ConvertTo-SecureString 'pw' -AsPlainText -Force))
            $c = New-PartitionOpsConnection pg01:5433 -Database fhir -Provider postgresql -SqlCredential $cred
            $c.Provider | Should -Be 'postgresql'
            $c.Server | Should -Be 'pg01'
            $c.DisplayName | Should -Match 'Port=5433'
            $c.Authentication | Should -Be 'Password'
        }

        It 'accepts a managed identity connection string' {
            $connectionString = 'Server=tcp:srv.database.windows.net;Database=fhir;Authentication=Active Directory Managed Identity'
            $c = New-PartitionOpsConnection -ConnectionString $connectionString
            $c.Authentication | Should -Be 'Active Directory Managed Identity'
        }

        It 'accepts Microsoft Entra ID sign-in: Authentication=<Keyword>' -ForEach @(
            @{ Keyword = 'Active Directory Default' }
            @{ Keyword = 'Active Directory Managed Identity' }
            @{ Keyword = 'Active Directory MSI' }
        ) {
            $connectionString = "Server=tcp:srv.database.windows.net;Database=fhir;Authentication=$Keyword"
            $c = New-PartitionOpsConnection -ConnectionString $connectionString -EnableException
            $c.Authentication | Should -Be $Keyword
            $c.Provider | Should -Be 'sqlserver'
        }

        It 'accepts an access token' {
            $token = ConvertTo-SecureString 'eyJ.fake.token' -AsPlainText -Force
            $c = New-PartitionOpsConnection -SqlInstance srv.database.windows.net -Database fhir -AccessToken $token
            $c.Authentication | Should -Be 'AccessToken'
        }

        It 'builds one connection per database in a pipeline' {
            $connections = 'fhir01', 'fhir02' | ForEach-Object { New-PartitionOpsConnection -SqlInstance sql01 -Database $_ }
            $connections.Database -join ',' | Should -Be 'fhir01,fhir02'
            # Each carries itself as Connection, so piping it binds -Connection by property name.
            [object]::ReferenceEquals($connections[0].Connection, $connections[0]) | Should -BeTrue
        }

        It 'never shows a password or token' {
            $secret = 'Pw-' + [guid]::NewGuid().ToString('N')
            $token = 'Tok-' + [guid]::NewGuid().ToString('N')
            $cred = [pscredential]::new('po', (ConvertTo-SecureString $secret -AsPlainText -Force))
            $connections = @(
                New-PartitionOpsConnection -SqlInstance pg01 -Provider postgresql -SqlCredential $cred
                New-PartitionOpsConnection -ConnectionString "Server=sql01;User ID=po;Password=$secret"
                New-PartitionOpsConnection -SqlInstance sql01 -AccessToken (ConvertTo-SecureString $token -AsPlainText -Force)
            )
            foreach ($c in $connections) {
                $shown = @("$c", ($c | Format-List * | Out-String), ($c | Format-Table | Out-String),
                    ($c | Select-Object * | ConvertTo-Json -Depth 2 -WarningAction SilentlyContinue))
                foreach ($text in $shown) {
                    $text | Should -Not -Match $secret
                    $text | Should -Not -Match $token
                }
            }
        }
    }

    Context 'Errors' {
        It 'rejects an unknown provider before running' {
            { New-PartitionOpsConnection -SqlInstance sql01 -Provider db2 } |
                Should -Throw -ErrorId "ParameterArgumentValidationError,$fqidSuffix"
        }

        It 'writes a non-terminating InvalidArgument error for a malformed connection string' {
            $quiet = @{ ErrorVariable = 'err'; ErrorAction = 'SilentlyContinue' }
            $result = New-PartitionOpsConnection -ConnectionString 'Server=x;Nonsense Keyword=1' @quiet
            $result | Should -BeNullOrEmpty
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
        }

        It 'throws with -EnableException, without the password in the message' {
            $secret = 'Pw-' + [guid]::NewGuid().ToString('N')
            $thrown = $null
            try { New-PartitionOpsConnection -ConnectionString "Server=x;Password=$secret;Nonsense Keyword=1" -EnableException }
            catch { $thrown = $_ }
            $thrown | Should -Not -BeNullOrEmpty
            $thrown.FullyQualifiedErrorId | Should -Be "InvalidRequest,$fqidSuffix"
            $thrown.Exception.Message | Should -Not -Match $secret
        }

        It '-Validate against a closed port is a ConnectionError without the password' {
            $secret = 'Pw-' + [guid]::NewGuid().ToString('N')
            $thrown = $null
            try {
                New-PartitionOpsConnection -ConnectionString "Host=127.0.0.1;Port=1;Username=po;Password=$secret;Timeout=3" `
                    -Provider postgresql -Validate -EnableException
            }
            catch { $thrown = $_ }
            $thrown.CategoryInfo.Category | Should -Be 'ConnectionError'
            ($thrown | Out-String) | Should -Not -Match $secret
        }
    }

    Context 'Live PostgreSQL (PARTITIONOPS_TEST_POSTGRES)' -Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES) {
        It '-Validate opens a connection' {
            $pg = @{ ConnectionString = $env:PARTITIONOPS_TEST_POSTGRES; Provider = 'postgresql' }
            $c = New-PartitionOpsConnection @pg -Validate -EnableException
            $c.Provider | Should -Be 'postgresql'
        }

        It '-Validate writes what it connected to as verbose text, redacted' {
            $pg = @{ ConnectionString = $env:PARTITIONOPS_TEST_POSTGRES; Provider = 'postgresql' }
            $verbose = New-PartitionOpsConnection @pg -Validate -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $verbose.Message | Should -Match 'Connected to'
            $verbose.Message | Should -Not -Match 'Password=(?!\*\*\*)'
        }
    }
}
