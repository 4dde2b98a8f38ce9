using System.Data.Common;
using Npgsql;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.Demo;

/// <summary>Shape of a generated FHIR-like database.</summary>
public sealed record FhirSampleOptions
{
    public long Rows { get; init; } = 1_000_000;
    /// <summary>Resource types in the lookup (FHIR R4 has about 150).</summary>
    public int TypeCount { get; init; } = 150;
    /// <summary>Share of rows that belong to the seven system types.</summary>
    public double SystemShare { get; init; } = 0.10;
    /// <summary>List-partitioned by ResourceTypeId like the FHIR server's table, or one plain heap.</summary>
    public bool Partitioned { get; init; } = true;
    public string Schema { get; init; } = "public";
    /// <summary>Bytes of payload per row, so rows are not unrealistically small.</summary>
    public int PayloadBytes { get; init; } = 100;
}

/// <summary>
/// Builds the FHIR server's Resource / ResourceType shape on PostgreSQL with skewed type sizes
/// (a few huge types, a long tail), server-side so a million rows take seconds.
/// </summary>
public static class FhirSample
{
    private static readonly string[] CommonTypes =
    [
        "Observation", "Patient", "Encounter", "Condition", "Procedure", "MedicationRequest", "DiagnosticReport",
        "Immunization", "Claim", "ExplanationOfBenefit", "DocumentReference", "AllergyIntolerance", "CarePlan",
        "Practitioner", "Organization", "Location", "Device", "Provenance", "Goal", "CareTeam", "ImagingStudy",
        "MedicationAdministration", "Medication", "ServiceRequest", "Coverage", "Appointment", "Schedule", "Slot",
        "Questionnaire", "QuestionnaireResponse", "Specimen", "Group", "Composition", "Consent", "Flag", "Media",
        "List", "Basic", "Bundle", "Task", "Communication", "EpisodeOfCare", "FamilyMemberHistory", "RiskAssessment",
    ];

    /// <summary>Type names: the seven system types, then common clinical ones, then numbered fillers.</summary>
    public static IReadOnlyList<string> TypeNames(int count)
    {
        var names = new List<string>(BackfillProfile.FhirSystemTypes);
        names.AddRange(CommonTypes);
        for (var i = names.Count + 1; names.Count < count; i++) names.Add($"Resource{i:000}");
        return names.Take(Math.Max(count, BackfillProfile.FhirSystemTypes.Count)).ToList();
    }

    /// <summary>Rows per type: system types share <see cref="FhirSampleOptions.SystemShare"/>, each group Zipf-skewed.</summary>
    public static IReadOnlyList<(string Name, int Id, long Rows)> Distribution(FhirSampleOptions options)
    {
        var names = TypeNames(options.TypeCount);
        var systemCount = BackfillProfile.FhirSystemTypes.Count;
        static double[] Zipf(int n)
        {
            var w = Enumerable.Range(1, n).Select(r => 1.0 / Math.Pow(r, 1.1)).ToArray();
            var s = w.Sum();
            return w.Select(x => x / s).ToArray();
        }
        // Relative sizes of the spec's priority table: ValueSet largest, CompartmentDefinition smallest.
        var relative = new Dictionary<string, double>
        {
            ["ValueSet"] = 30, ["SearchParameter"] = 10, ["CodeSystem"] = 8, ["OperationDefinition"] = 5,
            ["StructureDefinition"] = 3, ["CapabilityStatement"] = 1, ["CompartmentDefinition"] = 0.5,
        };
        var systemWeights = BackfillProfile.FhirSystemTypes.Select(t => relative[t] / relative.Values.Sum()).ToArray();
        var userWeights = Zipf(names.Count - systemCount);
        var systemRows = (long)Math.Round(options.Rows * options.SystemShare);
        var userRows = options.Rows - systemRows;
        var result = new List<(string, int, long)>();
        for (var i = 0; i < names.Count; i++)
        {
            var rows = i < systemCount
                ? (long)Math.Round(systemRows * systemWeights[i])
                : (long)Math.Round(userRows * userWeights[i - systemCount]);
            result.Add((names[i], i + 1, Math.Max(rows, 1)));
        }
        return result;
    }

    public static async Task CreateAsync(string connectionString, FhirSampleOptions options, IProgress<string>? progress = null,
        CancellationToken ct = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        var s = $"\"{options.Schema}\"";
        var distribution = Distribution(options);
        async Task Exec(string sql)
        {
            await using var c = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await c.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await Exec($"CREATE SCHEMA IF NOT EXISTS {s}");
        await Exec($"""CREATE TABLE {s}."ResourceType" ("ResourceTypeId" smallint PRIMARY KEY, "Name" varchar(50) NOT NULL UNIQUE)""");
        var columns = """
            "ResourceTypeId" smallint NOT NULL,
            "ResourceSurrogateId" bigint NOT NULL,
            "ResourceId" varchar(64) NOT NULL,
            "Version" int NOT NULL,
            "IsHistory" boolean NOT NULL DEFAULT false,
            "IsDeleted" boolean NOT NULL DEFAULT false,
            "LastUpdated" timestamptz NOT NULL DEFAULT now(),
            "RawResource" text,
            PRIMARY KEY ("ResourceTypeId", "ResourceSurrogateId")
            """;
        await Exec(options.Partitioned
            ? $"""CREATE TABLE {s}."Resource" ({columns}) PARTITION BY LIST ("ResourceTypeId")"""
            : $"""CREATE TABLE {s}."Resource" ({columns})""");

        var copyTypes = $"""COPY {s}."ResourceType" ("ResourceTypeId", "Name") FROM STDIN (FORMAT BINARY)""";
        await using (var writer = await connection.BeginBinaryImportAsync(copyTypes, ct).ConfigureAwait(false))
        {
            foreach (var (name, id, _) in distribution)
            {
                await writer.StartRowAsync(ct).ConfigureAwait(false);
                await writer.WriteAsync((short)id, NpgsqlTypes.NpgsqlDbType.Smallint, ct).ConfigureAwait(false);
                await writer.WriteAsync(name, NpgsqlTypes.NpgsqlDbType.Varchar, ct).ConfigureAwait(false);
            }
            await writer.CompleteAsync(ct).ConfigureAwait(false);
        }

        long written = 0;
        foreach (var (name, id, rows) in distribution)
        {
            if (options.Partitioned)
                await Exec($"""CREATE TABLE {s}."Resource_{id}" PARTITION OF {s}."Resource" FOR VALUES IN ({id})""");
            // Surrogate ids grow with time like the FHIR server's (time-based), with gaps.
            await Exec($"""
                INSERT INTO {s}."Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "RawResource")
                SELECT {id}, 5000000000 + g * 7, md5(g::text || '{id}'), 1, repeat('x', {options.PayloadBytes})
                FROM generate_series(1, {rows}) AS g
                """);
            written += rows;
            progress?.Report($"{name}: {rows:N0} rows ({written:N0} of {options.Rows:N0})");
        }
        await Exec($"ANALYZE {s}.\"ResourceType\"");
        await Exec($"ANALYZE {s}.\"Resource\"");
    }

    /// <summary>Inserts rows of a type above its current highest key (what the application does during a run).</summary>
    public static async Task<int> InsertNewRowsAsync(DbConnection connection, string schema, int typeId, int rows,
        CancellationToken ct = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO "{schema}"."Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "RawResource")
            SELECT @type, m + g, 'new-' || (m + g)::text, 1, 'new'
            FROM (SELECT COALESCE(max("ResourceSurrogateId"), 0) AS m FROM "{schema}"."Resource" WHERE "ResourceTypeId" = @type) AS top,
                 generate_series(1, @rows) AS g
            """;
        var type = command.CreateParameter(); type.ParameterName = "type"; type.Value = (short)typeId; command.Parameters.Add(type);
        var count = command.CreateParameter(); count.ParameterName = "rows"; count.Value = rows; command.Parameters.Add(count);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
