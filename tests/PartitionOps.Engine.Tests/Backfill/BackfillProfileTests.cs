using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Tests.Backfill;

public sealed class BackfillProfileTests
{
    [Fact]
    public void The_fhir_profile_is_the_spec_s()
    {
        var p = BackfillProfile.Load("fhir");
        Assert.Same(BackfillProfile.Fhir, p);
        Assert.Equal(("Resource", "ResourceType", "PartitionId", "smallint", 2, 1),
            (p.Table, p.LookupTable, p.PartitionColumn, p.PartitionColumnType, p.DefaultValue, p.SystemValue));
        Assert.Equal(["SearchParameter", "OperationDefinition", "StructureDefinition", "ValueSet", "CodeSystem", "CapabilityStatement",
            "CompartmentDefinition"], p.SystemTypes);
        Assert.Equal("IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version", p.SystemIndexName);
        Assert.Equal("IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_Version", p.DefaultIndexName);
        Assert.Same(p, p.Validated());
    }

    [Fact]
    public void A_profile_file_names_another_table_in_snake_case_and_keeps_defaults_for_the_rest()
    {
        var p = BackfillProfile.Parse("""
            {
              // comments are allowed
              "table": "Document", "lookup_table": "DocType", "type_column": "DocTypeId", "key_column": "DocId",
              "partition_column": "Tier", "partition_column_type": "int", "default_value": 20, "system_value": 10,
              "system_types": ["Template"], "index_columns": ["DocTypeId", "DocId"],
              "system_index_name": "IX_Doc_System", "default_index_name": "IX_Doc_Default",
            }
            """);
        Assert.Equal(("Document", "DocType", "DocTypeId", "DocId", "Tier", 20, 10),
            (p.Table, p.LookupTable, p.TypeColumn, p.KeyColumn, p.PartitionColumn, p.DefaultValue, p.SystemValue));
        Assert.Equal("Name", p.LookupNameColumn);
        Assert.Equal(["Template"], p.SystemTypes);
    }

    [Theory]
    [InlineData("""{ "table": "x; DROP TABLE y" }""", "x; DROP TABLE y")]
    [InlineData("""{ "partition_column_type": "text" }""", "text")]
    [InlineData("""{ "default_value": 1 }""", "system_value")]
    [InlineData("""{ "system_types": [] }""", "system_types")]
    [InlineData("""{ "tabel": "Resource" }""", "tabel")]
    [InlineData("""{ "table": """, "is not valid JSON")]
    [InlineData("""{ "index_columns": ["ok", "bad name"] }""", "bad name")]
    public void A_bad_profile_is_refused_naming_what_is_wrong(string json, string named)
    {
        var error = Assert.Throws<InvalidRequestException>(() => BackfillProfile.Parse(json, "p.json"));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void A_missing_profile_file_is_named()
    {
        var error = Assert.Throws<InvalidRequestException>(() => BackfillProfile.Load("/no/such/profile.json"));
        Assert.Contains("/no/such/profile.json", error.Message);
        Assert.Equal("Profile", error.Parameter);
    }

    [Fact]
    public void A_profile_round_trips_through_json()
    {
        var p = BackfillProfile.Fhir with { Table = "Other", SystemTypes = ["A", "B"] };
        var back = BackfillProfile.Parse(p.ToJson());
        Assert.Equal(p.Table, back.Table);
        Assert.Equal(p.SystemTypes, back.SystemTypes);
        Assert.Equal(p.IndexColumns, back.IndexColumns);
    }
}
