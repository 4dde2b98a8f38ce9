using System.Globalization;
using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Ilm.Model;

public enum PartitionNameKind
{
    /// <summary>Not P_YYYY or P_YYYY_MM: reported and left alone.</summary>
    Other,
    Yearly,
    Monthly,
}

/// <summary>
/// The naming convention ILM relies on: P_YYYY for a yearly partition and P_YYYY_MM for a monthly one,
/// case-insensitive (PostgreSQL users usually create p_2023_11).
/// </summary>
public sealed partial record PartitionName(string Name, PartitionNameKind Kind, int Year, int Month)
{
    [GeneratedRegex(@"^[Pp]_(\d{4})(?:_(\d{2}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static PartitionName Parse(string name)
    {
        var m = Pattern().Match(name);
        if (!m.Success) return new PartitionName(name, PartitionNameKind.Other, 0, 0);
        var year = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        if (year < 1) return new PartitionName(name, PartitionNameKind.Other, 0, 0);
        if (!m.Groups[2].Success) return new PartitionName(name, PartitionNameKind.Yearly, year, 0);
        var month = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        return month is >= 1 and <= 12
            ? new PartitionName(name, PartitionNameKind.Monthly, year, month)
            : new PartitionName(name, PartitionNameKind.Other, 0, 0);
    }

    /// <summary>First day of the named month (monthly) or year (yearly).</summary>
    public DateTime Start => Kind == PartitionNameKind.Monthly ? new DateTime(Year, Month, 1) : new DateTime(Year, 1, 1);

    /// <summary>The yearly partition's name for this year, keeping the case of the "p" prefix.</summary>
    public string YearlyName => Name[..1] + "_" + Year.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>
    /// A monthly partition whose bounds are exactly its month (the lower bound may be unknown for the
    /// first partition of an Oracle table).
    /// </summary>
    public bool BoundsMatch(PartitionInfo p) => Kind switch
    {
        PartitionNameKind.Monthly => p.UpperBound == Start.AddMonths(1) && (p.LowerBound is null || p.LowerBound == Start),
        // A yearly partition may be partial (it grows month by month) but never leaves its year.
        PartitionNameKind.Yearly => p.UpperBound is { } u && u > Start && u <= Start.AddYears(1)
                                    && (p.LowerBound is null || p.LowerBound >= Start),
        _ => false,
    };

    public static string MonthlyName(string prefix, int year, int month) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}_{year:D4}_{month:D2}");
}
