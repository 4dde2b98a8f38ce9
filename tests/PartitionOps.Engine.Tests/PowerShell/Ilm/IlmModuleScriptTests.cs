using System.Globalization;
using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Tests.PowerShell.Ilm;

/// <summary>
/// The shipped ILM scripts only run under PowerShell (not here), so these tests pin what they promise: the runbook
/// is time-boxed under Azure Automation's three hours, signs in without secrets and fails the job on failure; the
/// validation suite's ILM place checks health, unretried failures and tiers; every ILM cmdlet has a Pester file.
/// </summary>
public class IlmModuleScriptTests
{
    private static string Read(params string[] parts) => File.ReadAllText(Path.Combine([ModuleFacts.ModuleDirectory, .. parts]));

    [Fact]
    public void Runbook_is_time_boxed_under_the_three_hour_fair_share_limit()
    {
        var text = Read("Runbooks", "Invoke-IlmMaintenanceRunbook.ps1");
        var value = Regex.Match(text, @"\[string\]\s*\$MaxDuration\s*=\s*'([^']+)'").Groups[1].Value;
        var maxDuration = TimeSpan.Parse(value, CultureInfo.InvariantCulture);
        Assert.True(maxDuration <= TimeSpan.FromHours(2.5), "leave room for the action running at the time box and the report");
        Assert.Contains("Invoke-IlmMaintenance", text);
        Assert.Contains("MaxDuration = $timeBox", text);
        Assert.Contains("Confirm = $false", text);
        Assert.Contains("FromHours(3)", text);
    }

    [Fact]
    public void Runbook_signs_in_with_a_managed_identity_or_a_credential_asset_and_fails_the_job_on_failure()
    {
        var text = Read("Runbooks", "Invoke-IlmMaintenanceRunbook.ps1");
        Assert.Contains("Connect-AzAccount -Identity", text);
        Assert.Contains("Get-AzAccessToken", text);
        Assert.Contains("-AccessToken $token", text);
        Assert.Contains("Get-AutomationPSCredential", text);
        Assert.Matches(@"(?m)^\s*exit 1\s*$", text);
        Assert.Contains("throw \"ILM runbook failed", text);
        Assert.Contains("Test-IlmHealth", text);
        Assert.DoesNotMatch(@"(?i)password\s*=", text);
    }

    [Fact]
    public void Runbook_sign_in_default_follows_the_provider()
    {
        var text = Read("Runbooks", "Invoke-IlmMaintenanceRunbook.ps1");
        var parameters = text[text.IndexOf("param(", StringComparison.Ordinal)..text.IndexOf("$ErrorActionPreference",
            StringComparison.Ordinal)];
        // The default provider is Oracle, which PartitionOps signs in to with a user and password only (OracleProvider
        // refuses an access token): no token resource or AccessToken default in the parameters...
        Assert.Matches(@"\[string\]\s*\$Provider\s*=\s*'oracle'", parameters);
        Assert.Matches(@"\[string\]\s*\$Authentication\s*,", parameters);
        Assert.Matches(@"\[string\]\s*\$TokenResourceUrl\s*,", parameters);
        Assert.DoesNotContain("ossrdbms", parameters);
        // ...but a default: a connection string alone signs in by itself (no Azure; tests/Pester/Runbooks.Tests.ps1 runs
        // it), else by provider: a credential asset for Oracle, the managed identity's token for PostgreSQL.
        Assert.Matches(@"\$Authentication\s*=\s*if\s*\(\$ConnectionString\s*-and\s*-not\s*\$CredentialName\)\s*" +
            @"\{\s*'ConnectionString'\s*\}\s*" +
            @"elseif\s*\(\$Provider\s*-eq\s*'postgresql'\)\s*\{\s*'AccessToken'\s*\}\s*else\s*\{\s*'Credential'\s*\}", text);
        Assert.Contains("$TokenResourceUrl = 'https://ossrdbms-aad.database.windows.net'", text);
        Assert.Contains("-Authentication AccessToken is not supported for Oracle", text);
        var help = text[..text.IndexOf("#>", StringComparison.Ordinal)];
        Assert.Matches(@"Credential for oracle", help);
    }

    [Fact]
    public void Validation_suite_checks_ilm_health_in_the_marked_place()
    {
        var text = Read("Validation", "PartitionOps.Validation.Tests.ps1");
        var ilm = text[text.IndexOf("# ILM HEALTH", StringComparison.Ordinal)..];
        Assert.Contains("Test-IlmHealth", ilm);
        Assert.Contains("FailedNotRetried", ilm);
        Assert.Contains("Get-IlmMergeCandidate", ilm);
        Assert.Contains("-Tag 'Ilm'", ilm);
        Assert.DoesNotContain("-Skip {", ilm); // the placeholder is gone
        Assert.Matches(@"\[string\[\]\]\s*\$IlmTable", text);
    }

    [Theory]
    [MemberData(nameof(IlmCmdletContractTests.CmdletNames), MemberType = typeof(IlmCmdletContractTests))]
    public void Every_ilm_cmdlet_has_a_pester_file_with_a_live_context(string name)
    {
        var path = Path.Combine(ModuleFacts.RepoRoot, "tests", "Pester", name + ".Tests.ps1");
        Assert.True(File.Exists(path), $"tests/Pester/{name}.Tests.ps1 is missing");
        var text = File.ReadAllText(path);
        Assert.Contains("ModuleVersion = '5.0.0'", text);
        Assert.Contains($"Get-Command {name} -Module PartitionOps", text);
        Assert.Contains("-Skip:(-not $env:PARTITIONOPS_TEST_POSTGRES)", text);
    }
}
