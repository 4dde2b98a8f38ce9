using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Providers;

/// <summary>
/// Validation of object names given by users. Names are always quoted by a dialect as well; validation
/// refuses anything that is not a plain identifier so that no name can carry SQL.
/// </summary>
public static partial class Identifier
{
    public const int MaxLength = 128;

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_$#]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainIdentifier();

    /// <summary>Returns <paramref name="name"/> when it is a plain identifier, else throws naming it.</summary>
    public static string Validate(string? name, string parameter)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new InvalidRequestException(parameter, name ?? "", "is empty: a name is required");
        if (name.Length > MaxLength)
            throw new InvalidRequestException(parameter, name, $"is longer than {MaxLength} characters");
        if (!PlainIdentifier().IsMatch(name))
            throw new InvalidRequestException(parameter, name,
                "is not a valid identifier: use letters, digits and _ (starting with a letter or _)");
        return name;
    }

    /// <summary>Doubles <paramref name="quote"/> inside the name and wraps it, e.g. "a""b".</summary>
    public static string Quote(string name, char open, char close) =>
        open + name.Replace(close.ToString(), new string(close, 2)) + close;
}
