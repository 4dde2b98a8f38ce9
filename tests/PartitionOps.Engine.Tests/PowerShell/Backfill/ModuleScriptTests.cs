using System.Globalization;
using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Tests.PowerShell.Backfill;

/// <summary>
/// The shipped scripts can only run under PowerShell (not here), so these tests pin what they promise:
/// the runbook stays under Azure Automation's three hours and signs in without secrets; the validation suite
/// takes its data from New-PesterContainer and covers integrity and prerequisites, with a place for ILM.
/// </summary>
public class ModuleScriptTests
{
    private static string Read(params string[] parts) => File.ReadAllText(Path.Combine([ModuleFacts.ModuleDirectory, .. parts]));

    [Fact]
    public void Runbook_is_time_boxed_under_the_three_hour_fair_share_limit()
    {
        var text = Read("Runbooks", "Start-BackfillRunbook.ps1");
        var value = Regex.Match(text, @"\[string\]\s*\$MaxDuration\s*=\s*'([^']+)'").Groups[1].Value;
        var maxDuration = TimeSpan.Parse(value, CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Parse("02:45:00", CultureInfo.InvariantCulture), maxDuration);
        Assert.True(maxDuration < TimeSpan.FromHours(3));
        Assert.Contains("Start-PartitionBackfill", text);
        Assert.Contains("Confirm = $false", text);
        Assert.Contains("EnableException = $true", text);
    }

    [Fact]
    public void Runbook_signs_in_with_a_managed_identity_or_a_token_and_fails_the_job_on_failure()
    {
        var text = Read("Runbooks", "Start-BackfillRunbook.ps1");
        Assert.Contains("Authentication=Active Directory Managed Identity", text);
        Assert.Contains("Get-AzAccessToken", text);
        Assert.Contains("-AccessToken $token", text);
        Assert.Matches(@"(?m)^\s*exit 1\s*$", text);
        Assert.Contains("throw \"Backfill runbook failed", text);
        Assert.DoesNotMatch(@"(?i)password\s*=", text);
    }

    [Fact]
    public void Validation_suite_takes_container_data_and_checks_integrity_and_prerequisites()
    {
        var text = Read("Validation", "PartitionOps.Validation.Tests.ps1");
        Assert.Matches(@"\[Parameter\(Mandatory\)\]\s*\[string\]\s*\$ConnectionString", text);
        Assert.Matches(@"\[string\]\s*\$Provider", text);
        Assert.Contains("New-PesterContainer", text);
        Assert.Contains("Test-BackfillIntegrity", text);
        Assert.Contains("Test-BackfillPrerequisite", text);
        Assert.Contains("ILM HEALTH", text);
        Assert.DoesNotMatch(@"\$Profile\b", text); // PowerShell's automatic variable
    }
}
